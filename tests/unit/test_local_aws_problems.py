"""What went wrong inside the local AWS reaches the suite in its own words (its log), not as
the 500 Internal Server Error its clients saw."""
from __future__ import annotations

from localaws.service import LocalAWS

FULL_DISK = """2026-11-30 07:00:00,000 werkzeug INFO "POST / HTTP/1.1" 200 -
Traceback (most recent call last):
  File "/moto/core/responses.py", line 400, in call_action
    response = method()
OSError: [Errno 28] No space left on device: '/state/rds/smdemo-db/data/ibdata1'
2026-11-30 07:00:01,000 werkzeug INFO "POST / HTTP/1.1" 500 -
"""


def test_the_last_error_of_its_log_is_what_went_wrong(tmp_path):
    local = LocalAWS(tmp_path)
    local.log_path.write_text("quiet start\n" * 50 + FULL_DISK)
    problems = local.problems()
    assert problems is not None and "No space left on device" in problems
    assert problems.splitlines()[1].startswith("Traceback")  # from the error's start, not the log's
    assert "quiet start" not in problems


def test_a_quiet_log_is_no_problem(tmp_path):
    local = LocalAWS(tmp_path)
    local.log_path.write_text("2026-11-30 localaws.rotation WARNING rotation of x failed: on purpose\n")
    assert local.problems() is None and local.gone() is None
