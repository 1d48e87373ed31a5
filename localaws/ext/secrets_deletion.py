"""A secret scheduled for deletion keeps its name, as AWS documents.

AWS (Secrets Manager API reference, DeleteSecret: "During the recovery window, the secret is marked
for deletion ... you can't create a new secret with the same name"; CreateSecret's errors): a
CreateSecret for the name of a secret scheduled for deletion fails with InvalidRequestException
("You can't create this secret because a secret with this name is already scheduled for
deletion."), until RestoreSecret brings it back or the window ends.
moto 5.2.5 answers ResourceExistsException, the error for a live secret of that name.
"""
from __future__ import annotations

from typing import Any

from moto.secretsmanager.exceptions import InvalidRequestException
from moto.secretsmanager.models import SecretsManagerBackend

_original_create = SecretsManagerBackend.create_secret


def create_secret(self: SecretsManagerBackend, name: str, *args: Any, **kwargs: Any) -> Any:
    existing = self.secrets.get(name) if name in self.secrets.keys() else None
    if existing is not None and getattr(existing, "is_deleted", lambda: False)():
        raise InvalidRequestException("You can't create this secret because a secret with this name is already "
                                      "scheduled for deletion.")
    return _original_create(self, name, *args, **kwargs)


def install() -> None:
    SecretsManagerBackend.create_secret = create_secret
