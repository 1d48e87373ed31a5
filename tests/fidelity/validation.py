"""Has AWS shown a fidelity test to pass? Each test carries exactly one of two markers (a test with
neither or both is a collection error):

- `@pytest.mark.aws_validated("YYYY-MM-DD")`: it passed against AWS that day (`pytest tests/fidelity -m live`).
- `@pytest.mark.local_only("why")`: only the local AWS has shown it. `why` is NOT_YET_VALIDATED for a test
  that can meet AWS and waits for a live run to validate it; otherwise it says why the test can never meet
  AWS (it reaches into the local AWS: its processes, state directory, sandboxes, the machine it runs on).

A live run selects the tests that can meet AWS: the validated ones and the not yet validated ones.
"""
from __future__ import annotations

import datetime
import re

import pytest

NOT_YET_VALIDATED = "not yet validated against AWS"
VALIDATED, LOCAL_ONLY = "aws_validated", "local_only"
# The fixture that is the local AWS itself (tests/conftest.py): a test taking it reaches into it.
LOCAL_AWS_FIXTURE = "local_aws"


def _spelled(mark: pytest.Mark) -> str:
    return f"{mark.name}({', '.join(map(repr, mark.args))})"


def _problem(definition: pytest.Function, fixturenames: list[str]) -> str | None:
    marks = [mark for mark in definition.iter_markers() if mark.name in (VALIDATED, LOCAL_ONLY)]
    if len(marks) != 1:
        found = ", ".join(map(_spelled, marks)) or "neither"
        return ('needs exactly one of @pytest.mark.aws_validated("YYYY-MM-DD") or @pytest.mark.local_only("why"); '
                f"found {found}")
    [mark] = marks
    if len(mark.args) != 1 or mark.kwargs or not isinstance(mark.args[0], str) or not mark.args[0].strip():
        return f"{mark.name} takes one argument, a {'date' if mark.name == VALIDATED else 'reason'}: {_spelled(mark)}"
    if mark.name == VALIDATED:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", mark.args[0]):
            return f"aws_validated takes the date of the live run as YYYY-MM-DD, not {mark.args[0]!r}"
        try:
            day = datetime.date.fromisoformat(mark.args[0])
        except ValueError:
            return f"aws_validated({mark.args[0]!r}) is no date"
        if day > datetime.datetime.now(datetime.timezone.utc).date():
            return f"aws_validated({mark.args[0]!r}) is in the future"
    if LOCAL_AWS_FIXTURE in fixturenames and can_meet_aws(definition):
        return (f"takes the local AWS itself ({LOCAL_AWS_FIXTURE}): it can never meet AWS, so it is "
                f"local_only with the reason why, not {_spelled(mark)}")
    return None


def check_markers(definition: pytest.Function, fixturenames: list[str]) -> None:
    """A collection error unless the test carries exactly one well-formed validation marker."""
    problem = _problem(definition, fixturenames)
    if problem:
        raise pytest.Collector.CollectError(f"{definition.nodeid}: {problem} (tests/fidelity/validation.py)")


def can_meet_aws(definition: pytest.Function) -> bool:
    """Validated against AWS, or not yet: a live run selects it. Local-only for another reason: never."""
    mark = definition.get_closest_marker(LOCAL_ONLY)
    return mark is None or mark.args[:1] == (NOT_YET_VALIDATED,)
