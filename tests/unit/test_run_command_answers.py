"""localaws.ext.ssm_commands: an invocation's answer is one moment of it, never half of two.

AWS (GetCommandInvocation): ResponseCode is -1 while the command is Pending or InProgress and its exit
code once it is Success or Failed. moto's serializer reads an answer's members one at a time and may let
the command's thread run between two of them; an invocation changed in place was once read as "Success"
with the ResponseCode -1 of InProgress (CI, stop 29). Each change puts a new dict in place instead.
"""
from __future__ import annotations

from types import SimpleNamespace

from localaws.ext.ssm_commands import _change


def _command() -> SimpleNamespace:
    return SimpleNamespace(invocations=[{"InstanceId": instance, "Status": "InProgress", "ResponseCode": -1}
                                        for instance in ("i-1", "i-2")],
                           status="Pending", status_details="Pending", completed_count=0)


def test_an_answer_being_read_is_not_changed_under_the_reader():
    command = _command()
    being_read = command.invocations[0]
    _change(command, "i-1", Status="Success", ResponseCode=0, StandardOutputContent="done\n")
    assert being_read == {"InstanceId": "i-1", "Status": "InProgress", "ResponseCode": -1}
    assert command.invocations[0] == {"InstanceId": "i-1", "Status": "Success", "ResponseCode": 0,
                                      "StandardOutputContent": "done\n"}


def test_the_command_ends_when_its_last_invocation_does():
    command = _command()
    _change(command, "i-1", Status="Success", ResponseCode=0)
    assert (command.status, command.completed_count) == ("Pending", 0)
    _change(command, "i-2", Status="Failed", ResponseCode=3)
    assert (command.status, command.status_details, command.completed_count) == ("Failed", "Failed", 2)
