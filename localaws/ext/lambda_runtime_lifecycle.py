"""Lambda refuses runtimes past their deprecation's block dates, as AWS does.

AWS (Lambda developer guide, "Runtime deprecation"): after a runtime's "block function create"
date, CreateFunction with it fails; after its "block function update" date, so does
UpdateFunctionConfiguration. The answer is InvalidParameterValueException: "The runtime
parameter of python3.9 is no longer supported for creating or updating AWS Lambda functions. We
recommend you use the new runtime (python3.14) while creating or updating functions."
The dates are cfn-lint's (pinned: its rule E2531 reads the same table) and today's date.
moto 5.2.5 accepts any runtime.
"""
from __future__ import annotations

import json
from datetime import date
from typing import Any

from moto.awslambda.exceptions import InvalidParameterValueException
from moto.awslambda.models import LambdaBackend, LambdaFunction

from localaws import cfnlint_data


def _lifecycle() -> dict[str, dict[str, Any]]:
    table = cfnlint_data.folder() / "AdditionalSpecs" / "LmbdRuntimeLifecycle.json"
    return json.loads(table.read_text())


LIFECYCLE = _lifecycle()


def blocked(block: str, family: str = "python", today: date | None = None) -> list[str]:
    """The runtimes of `family` past their `block` date ("create-block" or "update-block"), oldest first."""
    day = today or date.today()
    past = [(entry[block], runtime) for runtime, entry in LIFECYCLE.items()
            if runtime.startswith(family) and date.fromisoformat(entry[block]) <= day]
    return [runtime for _, runtime in sorted(past)]


def refuse_if_blocked(runtime: str | None, block: str, today: date | None = None) -> None:
    """Raise AWS's error when `runtime` is past its `block` date ("create-block" or "update-block")."""
    entry = LIFECYCLE.get(runtime or "")
    if entry and date.fromisoformat(entry[block]) <= (today or date.today()):
        successor = f"the new runtime ({entry['successor']})" if entry.get("successor") else "a supported runtime"
        raise InvalidParameterValueException(
            f"The runtime parameter of {runtime} is no longer supported for creating or updating AWS Lambda "
            f"functions. We recommend you use {successor} while creating or updating functions.")


_original_create = LambdaBackend.create_function
_original_update = LambdaFunction.update_configuration


def create_function(self: LambdaBackend, spec: dict[str, Any]) -> LambdaFunction:
    if spec.get("PackageType", "Zip") == "Zip":
        refuse_if_blocked(spec.get("Runtime"), "create-block")
    return _original_create(self, spec)


def update_configuration(self: LambdaFunction, config_updates: dict[str, Any]) -> Any:
    if "Runtime" in config_updates:
        refuse_if_blocked(config_updates["Runtime"], "update-block")
    return _original_update(self, config_updates)


def install() -> None:
    LambdaBackend.create_function = create_function
    LambdaFunction.update_configuration = update_configuration
