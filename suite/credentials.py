"""An AWS access key as the suite holds it: the operator's is the SDK's own; these are the
throw-away identities the checks make (and, offline, the keys the local AWS issues)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str = field(repr=False)  # never in a traceback
    session_token: str | None = field(default=None, repr=False)

    def as_client_kwargs(self) -> dict[str, str]:
        kwargs = {"aws_access_key_id": self.access_key_id, "aws_secret_access_key": self.secret_access_key}
        if self.session_token:
            kwargs["aws_session_token"] = self.session_token
        return kwargs
