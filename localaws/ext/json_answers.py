"""JSON answers leave out the members that have no value, as AWS's serializers do.

AWS (the JSON and REST-JSON protocols, as the SDKs' service models describe them): a member
the service has no value for is absent from the answer; `null` is never sent for one.
moto 5.2.5 serializes Python's None as `null` in many answers (DescribeSecret's dates and
KmsKeyId, DescribeLogGroups' and FilterLogEvents' nextToken, ...). Clients built on botocore
hide it; others (and a check that reads the raw answer) do not.
An answer whose body is a blob payload (Lambda Invoke's: the function's own JSON) is the
function's, not the service's: it is returned byte for byte, nulls included.
"""
from __future__ import annotations

import json
from typing import Any

from moto.core.responses import BaseResponse
from moto.core.utils import get_service_model

JSON_PROTOCOLS = {"json", "rest-json"}


def without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: without_nulls(inner) for key, inner in value.items() if inner is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


def json_protocol(model: Any) -> bool:
    """The service speaks JSON (some list JSON beside a newer protocol, as the tagging API CBOR)."""
    return bool(set(model.metadata.get("protocols") or [model.protocol]) & JSON_PROTOCOLS)


def _json_service(response: BaseResponse) -> bool:
    """A JSON service's own structure (not a blob payload such as Lambda Invoke's result)."""
    try:
        model = get_service_model(response.boto3_service_name)
        if not json_protocol(model):
            return False
        output = model.operation_model(response._get_action()).output_shape
        payload = output.serialization.get("payload") if output is not None else None
        return not (payload and output.members[payload].type_name == "blob")
    except Exception:  # noqa: BLE001 - not a modelled service (moto's own API)
        return False


def install() -> None:
    answer = BaseResponse.call_action

    def call_action(self: BaseResponse) -> Any:
        status, headers, body = answer(self)
        if int(status) < 300 and isinstance(body, (str, bytes)) and body[:1] in ("{", b"{") and _json_service(self):
            try:
                document = json.loads(body)
            except ValueError:
                return status, headers, body
            cleaned = without_nulls(document)
            if cleaned != document:
                body = json.dumps(cleaned)
        return status, headers, body

    BaseResponse.call_action = call_action
