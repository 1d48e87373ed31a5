"""Lab B (seed 003): does the application survive rotation? The lab's web app runs on the bastion in
three variants while the secret rotates twice; then the secret is changed without the database.

The same checks run offline and live; only the fixtures know which.
"""
from __future__ import annotations

import pytest

from suite.account_changes import ROTATES_APP_SECRET, STARTS_APP
from suite.attendee.lab_app import CONNECTED, read_with_the_labs_reader, seconds_not_connected
from suite.report.timeline import timeline_svg


def _timeline(evidence, title: str, watch, start: float, end: float) -> dict[str, float]:
    """The picture and each variant's seconds not CONNECTED in the window."""
    rows = {variant: [(sample.at, sample.status) for sample in samples] for variant, samples in watch.samples.items()}
    evidence.picture(title, timeline_svg(rows, watch.marks, start, end))
    downtime = {variant: seconds_not_connected(samples, start, end) for variant, samples in watch.samples.items()}
    evidence.table("What a user of each variant saw",
                   ["variant", "answers", "seconds not CONNECTED", "slowest answer (s)", "last answer"],
                   [[variant, len(samples), f"{downtime[variant]:.2f}",
                     f"{max((sample.took for sample in samples), default=0):.2f}",
                     f"{samples[-1].status} {samples[-1].error}".strip() if samples else "none"]
                    for variant, samples in watch.samples.items()])
    return downtime


def _before_the_first_mark(watch, variant: str) -> str:
    """The variant's last answers before the first change (asked how long before it, and what it
    said), and a request then in flight: what a failure shows."""
    first_mark = watch.marks[0][0]
    answered = watch.answered_before(variant, first_mark)
    in_flight = [sample for sample in watch.samples[variant] if sample.at < first_mark <= sample.answered]
    shown = [f"{sample.at - first_mark:+.2f}s {sample.status} {sample.error} (took {sample.took:.2f}s)"
             .replace("  ", " ")
             for sample in answered[-4:]]
    shown += [f"in flight at the change: {sample.at - first_mark:+.2f}s {sample.status} (took {sample.took:.2f}s)"
              for sample in in_flight]
    return "; ".join(shown) or "no answer before the first change"


def _connected_before_the_first_mark(watch, variant: str) -> bool:
    """The last answer that came before the first change was CONNECTED."""
    before = watch.answered_before(variant, watch.marks[0][0])
    return bool(before) and before[-1].status == CONNECTED


@pytest.mark.changes_account(ROTATES_APP_SECRET)
@pytest.mark.guide_step("App 1")
def test_hardcoded_app_is_disconnected_after_rotation(app_through_two_rotations, evidence):
    watched = app_through_two_rotations
    _timeline(evidence, "GET / during two rotations", watched.watch, watched.start, watched.end)
    last = watched.watch.last("hardcoded")
    evidence.expect("the hard-coded app is CONNECTED before the first rotation and DISCONNECTED (access denied) after",
                    f"before: {'CONNECTED' if _connected_before_the_first_mark(watched.watch, 'hardcoded') else 'not'}"
                    f"; last answer: {last.status if last else 'none'} {last.error if last else ''}")
    assert all(rotation.error is None for rotation in watched.rotations), [r.error for r in watched.rotations]
    assert _connected_before_the_first_mark(watched.watch, "hardcoded"), (
        f"the hard-coded app never connected: {_before_the_first_mark(watched.watch, 'hardcoded')}")
    assert last is not None and last.status == "DISCONNECTED" and "1045" in last.error, (
        f"the hard-coded app still answers {last.status if last else 'nothing'} after rotation")


@pytest.mark.changes_account(ROTATES_APP_SECRET)
@pytest.mark.guide_step("App 2")
@pytest.mark.parametrize("variant", ["get-secret", "cached"])
def test_secret_reading_app_stays_connected_through_two_rotations(app_through_two_rotations, variant, evidence):
    watched = app_through_two_rotations
    downtime = _timeline(evidence, "GET / during two rotations", watched.watch, watched.start, watched.end)
    last = watched.watch.last(variant)
    evidence.expect(f"the {variant} app is CONNECTED before and after both rotations",
                    f"before: {'CONNECTED' if _connected_before_the_first_mark(watched.watch, variant) else 'not'}; "
                    f"last answer {last.status if last else 'none'}; {downtime[variant]:.2f} s not CONNECTED "
                    f"while the rotations ran")
    assert all(rotation.error is None for rotation in watched.rotations), [r.error for r in watched.rotations]
    assert _connected_before_the_first_mark(watched.watch, variant), (
        f"the {variant} app never connected: {_before_the_first_mark(watched.watch, variant)}")
    assert last is not None and last.status == CONNECTED, (
        f"the {variant} app answers {last.status if last else 'nothing'} after two rotations: "
        f"{last.error if last else ''}")


@pytest.mark.changes_account("puts a new password into the secret alone, then rotates (not undone)")
@pytest.mark.guide_step("App 3")
def test_secret_changed_without_the_database_disconnects_until_a_rotation(app_through_a_secret_changed_alone,
                                                                           evidence):
    watched = app_through_a_secret_changed_alone
    _timeline(evidence, "GET / while the secret is changed alone, then rotated", watched.watch, watched.start,
              watched.end)
    samples = watched.watch.samples["get-secret"]
    rotation_at = watched.watch.marks[-1][0]
    between = watched.watch.answered_before("get-secret", rotation_at, since=watched.put_at)
    last = samples[-1] if samples else None
    evidence.expect("after PutSecretValue of a new password alone, get_secret's app is DISCONNECTED; after a "
                    "rotation it is CONNECTED again",
                    f"between: {sorted({sample.status for sample in between[len(between) // 2:]})}; last answer: "
                    f"{last.status if last else 'none'}; rotation: {watched.rotation.error or 'finished'}")
    assert between and between[-1].status == "DISCONNECTED", (
        "the app still connected with a password the database never got")
    assert watched.rotation.error is None, f"the rotation did not repair the secret: {watched.rotation.error}"
    assert last is not None and last.status == CONNECTED, (
        f"after the rotation the app answers {last.status if last else 'nothing'}")


@pytest.mark.changes_account(STARTS_APP)
@pytest.mark.guide_step("App 4")
def test_secret_reader_raises_on_access_denied(workshop, lab_app, evidence):
    """The lab's original reader returned None for AccessDenied; this one must raise."""
    denied_secret = workshop.outputs["DemoUserSecretArn"]  # the bastion's role may not read demouser's secret
    result = read_with_the_labs_reader(lab_app.attendee, denied_secret)
    evidence.text("on smdemo-host, as ec2-user (Session Manager)", result.shown())
    evidence.expect("get_secret on a secret the role may not read raises, naming AccessDeniedException",
                    f"exit {result.exit_status}: "
                    f"{result.stderr.strip().splitlines()[-1] if result.stderr.strip() else result.stdout.strip()}")
    assert (result.exit_status != 0 and "SecretReadError" in result.stderr
            and "AccessDeniedException" in result.stderr), (
        f"the secret reader did not raise on AccessDenied (exit {result.exit_status}): {result.stdout.strip()[-200:]}")
