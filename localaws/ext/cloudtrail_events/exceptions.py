"""LookupEvents' errors, as AWS names them (JSON protocol: `__type` and `message`)."""
from __future__ import annotations

from moto.core.exceptions import JsonRESTError


class InvalidLookupAttributesException(JsonRESTError):
    def __init__(self, message: str):
        super().__init__("InvalidLookupAttributesException", message)


class InvalidMaxResultsException(JsonRESTError):
    def __init__(self) -> None:
        super().__init__("InvalidMaxResultsException", "MaxResults must be between 1 and 50.")


class InvalidTimeRangeException(JsonRESTError):
    def __init__(self) -> None:
        super().__init__("InvalidTimeRangeException", "Start time must be before end time.")


class InvalidNextTokenException(JsonRESTError):
    def __init__(self, message: str = "Invalid next token."):
        super().__init__("InvalidNextTokenException", message)
