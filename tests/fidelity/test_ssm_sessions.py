"""localaws.ext.ssm_sessions: Session Manager port forwarding to a remote host works as AWS documents.

AWS, Systems Manager API reference (StartSession: "TargetNotConnected — The specified target managed
node for the session isn't fully configured for use with Session Manager"; TerminateSession), Session
Manager user guide ("Port forwarding": AWS-StartPortForwardingSessionToRemoteHost connects to host:port
from the managed node), and the agent's and plugin's source for the data channel (named in
localaws/hosts/session_channel.py). The client is the suite's own (suite/attendee/ssm_tunnel.py).
"""
from __future__ import annotations

import json
import socket

import pytest
from botocore.exceptions import ClientError

from suite.attendee.ssm_tunnel import DOCUMENT, SessionManagerRoute
from tests.fidelity.validation import NOT_YET_VALIDATED
from tests.support.aws_helpers import iam_user, wait_for
from tests.support.ssm_agent import AGENT_POLICY, agent_profile, launch, run_command

SERVER_PORT = 8099
CLOSED_PORT = 8098


@pytest.fixture(scope="module")
def managed(aws, vpc):
    """A managed node (no key pair: Session Manager needs none) serving HTTP on its own 127.0.0.1."""
    instance = launch(aws, None, vpc["public"], agent_profile(aws, AGENT_POLICY))
    started = run_command(aws, instance, f"nohup python3 -m http.server {SERVER_PORT} --bind 127.0.0.1 "
                                         ">/dev/null 2>&1 &")
    assert started["Status"] == "Success", started
    yield instance
    aws.client("ec2").terminate_instances(InstanceIds=[instance])


@pytest.fixture
def tunnel(aws, managed):
    route = SessionManagerRoute(timeout=30)
    route.attach(lambda: aws.client("ssm"), managed)
    yield route
    route.close()


def _get(sock: socket.socket) -> bytes:
    """GET / over HTTP/1.0: the answer, read to the end of the stream (the server closes it)."""
    sock.settimeout(20)
    sock.sendall(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    sock.close()
    return answer


def _serving(tunnel) -> bytes | None:
    answer = _get(tunnel.socket_to("127.0.0.1", SERVER_PORT))
    return answer or None


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_port_forwarding_reaches_the_instances_own_loopback_and_ends_with_the_servers_stream(tunnel):
    """Each connection is a stream of one session; the server's close reaches the client as the
    stream's end (so an HTTP/1.0 answer is read to its end)."""
    first = wait_for(lambda: _serving(tunnel), timeout=30, what="the instance's HTTP server")
    assert first.startswith(b"HTTP/1.0 200"), first[:100]
    second = _get(tunnel.socket_to("127.0.0.1", SERVER_PORT))
    assert second.startswith(b"HTTP/1.0 200") and len(tunnel._sessions) == 1


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_port_nothing_listens_on_ends_the_stream_without_a_byte(tunnel):
    """The agent cannot connect: it says ConnectToPortError and closes the stream."""
    sock = tunnel.socket_to("127.0.0.1", CLOSED_PORT)
    sock.settimeout(30)
    assert sock.recv(100) == b""


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_terminate_session_ends_the_session(aws, managed):
    ssm = aws.client("ssm")
    started = ssm.start_session(Target=managed, DocumentName=DOCUMENT,
                                Parameters={"host": ["127.0.0.1"], "portNumber": [str(SERVER_PORT)]})
    assert set(started) >= {"SessionId", "TokenValue", "StreamUrl"}
    assert started["StreamUrl"].startswith(("wss://", "ws://")) and started["SessionId"] in started["StreamUrl"]
    assert ssm.terminate_session(SessionId=started["SessionId"])["SessionId"] == started["SessionId"]


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_an_instance_that_is_no_managed_node_is_not_connected(aws, vpc):
    instance = launch(aws, None, vpc["public"], None)
    try:
        with pytest.raises(ClientError) as refused:
            aws.client("ssm").start_session(Target=instance, DocumentName=DOCUMENT,
                                            Parameters={"host": ["127.0.0.1"], "portNumber": ["22"]})
        assert refused.value.response["Error"]["Code"] == "TargetNotConnected"
        assert refused.value.response["Error"]["Message"] == f"{instance} is not connected."
    finally:
        aws.client("ec2").terminate_instances(InstanceIds=[instance])


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_start_session_is_authorized_against_the_instance_and_the_document(aws, managed):
    """ssm:StartSession needs an Allow on the instance's ARN and one on the session document's ARN (an
    AWS-owned document: no account in its ARN); with only the first, the document's ARN is the one denied."""
    ssm_client = aws.client("ssm")
    region = ssm_client.meta.region_name
    instance_only = {"Effect": "Allow", "Action": "ssm:StartSession", "Resource": "arn:aws:ec2:*:*:instance/*"}
    document = f"arn:aws:ssm:{region}::document/{DOCUMENT}"
    for statements, denied in (([instance_only], document),
                               ([{**instance_only, "Resource": document}], f"instance/{managed}")):
        user_arn, credentials = iam_user(aws, *statements)
        with pytest.raises(ClientError) as refused:
            aws.client("ssm", credentials).start_session(
                Target=managed, DocumentName=DOCUMENT, Parameters={"host": ["127.0.0.1"], "portNumber": ["22"]})
        error = refused.value.response["Error"]
        assert error["Code"] == "AccessDeniedException", error
        assert error["Message"].startswith(f"User: {user_arn} is not authorized to perform: ssm:StartSession on "
                                           f"resource: ") and denied in error["Message"], error["Message"]
    user_arn, credentials = iam_user(aws, instance_only, {"Effect": "Allow", "Action": "ssm:StartSession",
                                                          "Resource": document})
    started = aws.client("ssm", credentials).start_session(
        Target=managed, DocumentName=DOCUMENT, Parameters={"host": ["127.0.0.1"], "portNumber": ["22"]})
    assert started["SessionId"].startswith(user_arn.rsplit("/", 1)[-1] + "-")
    ssm_client.terminate_session(SessionId=started["SessionId"])


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_resume_session_of_a_session_that_never_was_does_not_exist(aws):
    with pytest.raises(ClientError) as refused:
        aws.client("ssm").resume_session(SessionId="nobody-0123456789abcdef0")
    assert refused.value.response["Error"]["Code"] == "DoesNotExistException"


@pytest.mark.local_only("reads the local AWS's record of what it does not model, in its state directory")
def test_session_preferences_the_local_aws_does_not_apply_are_said_not_modelled(aws, local_aws, managed):
    """An account whose Session Manager preferences (SSM-SessionManagerRunShell) encrypt sessions with KMS or
    time them out: a session started there would follow them in AWS; here they are written down as not modelled."""
    ssm = aws.client("ssm")
    preferences = {"schemaVersion": "1.0", "description": "Session Manager preferences",
                   "sessionType": "Standard_Stream",
                   "inputs": {"kmsKeyId": "alias/sessions", "idleSessionTimeout": "20", "s3BucketName": ""}}
    created = ssm.create_document(Name="SSM-SessionManagerRunShell", DocumentType="Session", DocumentFormat="JSON",
                                  Content=json.dumps(preferences))["DocumentDescription"]
    assert sorted(created["PlatformTypes"]) == ["Linux", "MacOS", "Windows"]  # a Session document: every platform
    try:
        started = ssm.start_session(Target=managed, DocumentName=DOCUMENT,
                                    Parameters={"host": ["127.0.0.1"], "portNumber": [str(SERVER_PORT)]})
        ssm.terminate_session(SessionId=started["SessionId"])
    finally:
        ssm.delete_document(Name="SSM-SessionManagerRunShell")
    said = local_aws.not_modelled()
    assert {f"SSM-SessionManagerRunShell.inputs.{name}" for name in ("kmsKeyId", "idleSessionTimeout")} <= set(said)
    assert "SSM-SessionManagerRunShell.inputs.s3BucketName" not in said
