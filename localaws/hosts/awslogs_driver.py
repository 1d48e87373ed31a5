"""The awslogs log driver of a Fargate task, as the ECS agent runs it.

AWS (ECS developer guide, "Using the awslogs log driver", "Send Amazon ECS logs to CloudWatch"): before
the container starts, the driver creates its stream PREFIX/CONTAINER/TASK_ID in the definition's log group
as the task execution role (the group too, only with awslogs-create-group: true); a failure stops the task
with "ResourceInitializationError: failed to validate logger args: ...". The container's output is sent
with PutLogEvents as the same role; what the role may not write is lost and the task runs on.
"""
from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from moto.core.utils import unix_time_millis

from localaws.access_keys import AccessKey

Target = tuple[Any, str, str]  # (the role's logs client, group, stream)


class TaskStartFailure(Exception):
    def __init__(self, stop_code: str, reason: str):
        super().__init__(reason)
        self.stop_code = stop_code
        self.reason = reason


def error_text(error: Exception) -> str:
    if isinstance(error, ClientError):
        return f"{error.response['Error'].get('Code')}: {error.response['Error'].get('Message')}"
    return str(error)


def _logger_failure(what: str, error: Exception) -> TaskStartFailure:
    """How Fargate's awslogs driver reports a log group or stream it could not create (aws-sdk-go's error text)."""
    request_id = (error.response.get("ResponseMetadata", {}).get("RequestId") if isinstance(error, ClientError)
                  else None) or str(uuid.uuid4())
    return TaskStartFailure("TaskFailedToStart", (
        f"ResourceInitializationError: failed to validate logger args: create {what} has been retried 1 times: "
        f"failed to create Cloudwatch log {what}: {error_text(error)} status code: 400, request id: {request_id} "
        ": exit status 1"))


def open_stream(container: dict[str, Any], task_id: str, region: str, session: AccessKey | None) -> Target | None:
    """The awslogs driver's stream, created as the execution role in the definition's log group."""
    config = container.get("logConfiguration") or {}
    options = config.get("options") or {}
    if config.get("logDriver") != "awslogs" or "awslogs-group" not in options:
        return None
    if session is None:  # Fargate's awslogs driver has no other credentials than the execution role's
        raise TaskStartFailure("TaskFailedToStart", "ResourceInitializationError: failed to validate logger args: "
                               "NoCredentialProviders: no valid providers in chain : exit status 1")
    logs = session.client("logs", options.get("awslogs-region", region))
    group = options["awslogs-group"]
    prefix = options.get("awslogs-stream-prefix")
    stream = f"{prefix}/{container.get('name')}/{task_id}" if prefix else task_id
    if str(options.get("awslogs-create-group", "")).lower() == "true":
        try:
            logs.create_log_group(logGroupName=group)
        except ClientError as error:
            if error.response["Error"].get("Code") != "ResourceAlreadyExistsException":
                raise _logger_failure("group", error) from None
        except BotoCoreError as error:
            raise _logger_failure("group", error) from None
    try:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    except (ClientError, BotoCoreError) as error:
        raise _logger_failure("stream", error) from None
    return logs, group, stream


def forward(log_path: Path, offset: int, target: Target | None, final: bool = False) -> int:
    """The container's new complete lines (all of them at exit) sent to its stream; the new offset."""
    try:
        with open(log_path, "rb") as log:
            log.seek(offset)
            chunk = log.read()
    except OSError:
        return offset
    complete = len(chunk) if final else chunk.rfind(b"\n") + 1  # at exit, the last line too
    if target is not None and complete:
        logs, group, stream = target
        events = [{"timestamp": int(unix_time_millis()), "message": line}  # whole milliseconds, as AWS
                  for line in chunk[:complete].decode(errors="replace").splitlines()]
        if events:
            try:  # as the execution role: what it may not write is lost, as the awslogs driver drops it
                logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
            except (ClientError, BotoCoreError):
                pass
    return offset + complete
