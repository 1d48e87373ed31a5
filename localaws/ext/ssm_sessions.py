"""Session Manager sessions: StartSession, TerminateSession, ResumeSession, and port forwarding that works.

AWS (Systems Manager API reference, StartSession / TerminateSession / ResumeSession; Session Manager
user guide, "Port forwarding", "Control user session access to instances"; Service Authorization
Reference, "Actions defined by AWS Systems Manager"): StartSession(Target, DocumentName, Parameters)
answers SessionId ("<caller's name>-<17 hex digits>"), TokenValue and StreamUrl (the data channel's
websocket: localaws/hosts/session_channel.py). ssm:StartSession is authorized against the instance's ARN
(arn:aws:ec2:REGION:ACCOUNT:instance/ID) and against the session document's ARN (an AWS-owned document:
arn:aws:ssm:REGION::document/NAME); TerminateSession and ResumeSession against the session's ARN
(arn:aws:ssm:REGION:ACCOUNT:session/ID). A target that is no managed node (no running agent, no
instance profile allowing the agent, no path to the ssm, ssmmessages and ec2messages endpoints) is
refused with TargetNotConnected "<target> is not connected.". TerminateSession of a session that is
over answers its id again. ResumeSession of an unknown session: DoesNotExistException.
moto 5.2.5 has none of these actions.

Here the document AWS-StartPortForwardingSessionToRemoteHost is served (a port session; its connections
are made from inside the instance's network namespace); any other session document is said to be not
modelled (InvalidDocument naming the local AWS). The account's Session Manager preferences (the document
SSM-SessionManagerRunShell: KMS encryption of sessions, idle and maximum session durations) are not applied:
a session started while they are set writes them down as not modelled (localaws/not_modelled.py), and the
report lists them. A Session document (as the preferences are) runs on every platform: CreateDocument and
DescribeDocument answer PlatformTypes Windows, Linux and MacOS, where moto 5.2.5 answers "Not Implemented (moto)"
for every document.
"""
from __future__ import annotations

import json
import logging
import secrets
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.ec2.models import ec2_backends
from moto.ssm.models import Document
from moto.ssm.responses import SimpleSystemManagerResponse
from moto.utilities.utils import get_partition

from localaws import not_modelled
from localaws.ext import ssm_commands
from localaws.ext.cloudtrail_events.identity import find_caller
from localaws.hosts.session_channel import DataChannels, PortSession
from localaws.network import host_wiring

log = logging.getLogger("localaws.ssm_sessions")
PORT_FORWARDING_TO_REMOTE_HOST = "AWS-StartPortForwardingSessionToRemoteHost"
PREFERENCES = "SSM-SessionManagerRunShell"
# The preferences a port session would follow in AWS, and this local AWS does not (the session plugin's inputs).
UNMODELLED_PREFERENCES = ("kmsKeyId", "idleSessionTimeout", "maxSessionDuration")
_CHANNELS = DataChannels()


def _instance_arn(response: SimpleSystemManagerResponse, instance_id: str) -> str:
    partition, region = get_partition(response.region), response.region
    return f"arn:{partition}:ec2:{region}:{response.current_account}:instance/{instance_id}"


def _session_arn(response: SimpleSystemManagerResponse, session_id: str) -> str:
    return f"arn:{get_partition(response.region)}:ssm:{response.region}:{response.current_account}:session/{session_id}"


_original_determine_resource = getattr(SimpleSystemManagerResponse, "_determine_resource", None)


def ssm_resource(self: SimpleSystemManagerResponse) -> str:
    """The ARN an SSM request is authorized against: the instance for StartSession, the session for the
    other two; "*" for the rest, as before."""
    action = self._get_action()
    if action == "StartSession" and self._get_param("Target"):
        return _instance_arn(self, self._get_param("Target"))
    if action in ("TerminateSession", "ResumeSession") and self._get_param("SessionId"):
        return _session_arn(self, self._get_param("SessionId"))
    return _original_determine_resource(self) if _original_determine_resource else "*"


def _caller_name(response: SimpleSystemManagerResponse) -> str:
    caller = find_caller(response.current_account, get_partition(response.region), response.get_access_key())
    arn = caller.user_identity["arn"] if caller else "root"
    return arn.rsplit("/", 1)[-1][:78]


def _connector(instance_id: str) -> Any:
    def connect(host: str, port: int, timeout: float) -> Any:
        host_in_network = host_wiring.host_named(f"instance {instance_id}")
        if host_in_network is None:
            raise OSError(f"instance {instance_id} has no network here")
        return host_in_network.wiring.connect_inside(host, port, timeout)
    return connect


def start_session(self: SimpleSystemManagerResponse) -> str:
    target = self._get_param("Target")
    document = self._get_param("DocumentName") or "SSM-SessionManagerRunShell"
    parameters = self._get_param("Parameters") or {}
    partition = get_partition(self.region)
    self._authenticate_and_authorize_normal_action(f"arn:{partition}:ssm:{self.region}::document/{document}")
    if document != PORT_FORWARDING_TO_REMOTE_HOST:
        log.warning("not modelled offline: a session with the document %s", document)
        raise JsonRESTError("InvalidDocument", f"the local AWS does not model sessions with the document {document}")
    ec2 = ec2_backends[self.current_account][self.region]
    try:
        why = ssm_commands.why_unmanaged(ec2.get_instance(target))
    except Exception:  # noqa: BLE001 - no such instance: refused the same way
        why = "no such instance"
    if why:
        log.warning("StartSession: %s is no managed node: %s", target, why)
        raise JsonRESTError("TargetNotConnected", f"{target} is not connected.")
    _say_preferences_not_modelled(self)
    properties = {"host": (parameters.get("host") or [""])[0],
                  "portNumber": (parameters.get("portNumber") or ["80"])[0], "type": "LocalPortForwarding",
                  "localPortNumber": (parameters.get("localPortNumber") or ["0"])[0]}
    session_id = f"{_caller_name(self)}-{secrets.token_hex(9)[:17]}"
    session = PortSession(session_id, secrets.token_urlsafe(96), target, properties, _connector(target))
    _CHANNELS.add(session)
    return json.dumps({"SessionId": session_id, "TokenValue": session.token,
                       "StreamUrl": _CHANNELS.stream_url(session_id, self.region)})


def _say_preferences_not_modelled(self: SimpleSystemManagerResponse) -> None:
    """The account's Session Manager preferences a session would follow in AWS, written down as not modelled."""
    try:
        content = self.ssm_backend.get_document(PREFERENCES, "", "", "JSON")["Content"]
        inputs = json.loads(content).get("inputs") or {}
    except Exception:  # noqa: BLE001 - no preferences document in this account: AWS's defaults, which are modelled
        return
    settings = [f"{PREFERENCES}.inputs.{name}" for name in UNMODELLED_PREFERENCES if inputs.get(name)]
    if settings:
        not_modelled.record("Session Manager preferences", settings)


def terminate_session(self: SimpleSystemManagerResponse) -> str:
    session_id = self._get_param("SessionId")
    session = _CHANNELS.get(session_id)
    if session is not None:
        session.terminate()
    return json.dumps({"SessionId": session_id})


def resume_session(self: SimpleSystemManagerResponse) -> str:
    session_id = self._get_param("SessionId")
    session = _CHANNELS.get(session_id)
    if session is None or session.terminated.is_set():
        raise JsonRESTError("DoesNotExistException", f"Session with id {session_id} does not exist.")
    # The data channel reconnects with a new token; a channel still open goes on (not modelled: its resumption).
    session.token = secrets.token_urlsafe(96)
    return json.dumps({"SessionId": session_id, "TokenValue": session.token,
                       "StreamUrl": _CHANNELS.stream_url(session_id, self.region)})


SESSION_PLATFORMS = ["Windows", "Linux", "MacOS"]
_original_document_init = Document.__init__


def document_init(self: Document, *args: Any, **kwargs: Any) -> None:
    _original_document_init(self, *args, **kwargs)
    if self.document_type == "Session":
        self.platform_types = list(SESSION_PLATFORMS)


def install() -> None:
    Document.__init__ = document_init
    SimpleSystemManagerResponse._determine_resource = ssm_resource
    SimpleSystemManagerResponse.start_session = start_session
    SimpleSystemManagerResponse.terminate_session = terminate_session
    SimpleSystemManagerResponse.resume_session = resume_session


def stop_all() -> None:
    _CHANNELS.close()
