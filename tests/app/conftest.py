"""Lab B's fixtures (seed 003): the web app's three variants on the bastion, watched while the secret
rotates, and while the secret is changed without the database."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Iterator

import pytest
from tenacity import retry, retry_if_result, stop_after_delay, wait_fixed

from suite.account_changes import STARTS_APP, changes_account
from suite.attendee import lab_app as app
from suite.attendee.lab_app import PORTS, UNREACHABLE, Sample, Watch, ask
from suite.attendee.session_manager import AttendeeShell
from suite.redaction import REGISTRY
from suite.rotations import Rotation, rotate
from suite.workshop import Workshop


@dataclass
class LabApp:
    workshop: Workshop
    attendee: AttendeeShell
    started: list

    def watch(self, variants: tuple[str, ...] = tuple(PORTS)) -> Watch:
        """Each variant asked again as soon as it answered (a user reloading): many times a second."""
        return Watch(self.workshop.route(), {variant: PORTS[variant] for variant in variants},
                     interval=self.workshop.aws.timing.watch_interval).start()

    def settle(self) -> float:
        """How long to keep watching before and after a change: several answers' worth."""
        return min(max(0.5, self.workshop.aws.timing.rotation_poll * 10), 30)

    def watch_a_little_more(self, watch: Watch) -> None:
        """The settling time, then until each variant has answered a request made after it."""
        time.sleep(self.settle())
        watch.wait_answered_since(time.time(), timeout=30)

    def watch_before_a_change(self, watch: Watch, since: float) -> None:
        """The settling time, and until each variant has answered a request made since the watch began:
        what it says before the change is an answer, not a request still in flight when the change
        begins (on a loaded machine one answer can take longer than the settling time)."""
        time.sleep(self.settle())
        watch.wait_answered_since(since, timeout=30)


@pytest.fixture(scope="session")
@changes_account(STARTS_APP)
def lab_app(workshop: Workshop, attendee_shell: AttendeeShell) -> Iterator[LabApp]:
    """`./app/start.sh VARIANT PORT SECRET` for each variant, on the bastion as ec2-user; stopped at the end."""
    workshop.route()  # the app's answers are asked for through the suite's own route: not started without it
    started = [app.start(attendee_shell, variant, port, workshop.secret_arn) for variant, port in PORTS.items()]
    failed = [done for done in started if done.exit_status != 0]
    if failed:
        pytest.fail("the lab's app did not start on the bastion:\n" + "\n".join(done.shown()[-800:] for done in failed),
                    pytrace=False)
    try:
        for port in PORTS.values():
            @retry(stop=stop_after_delay(30), wait=wait_fixed(0.2),
                   retry=retry_if_result(lambda s: s.status == UNREACHABLE))
            def answering() -> Sample:
                return ask(workshop.route(), port)
            if answering().status == UNREACHABLE:
                logs = app.logs(attendee_shell)
                pytest.fail(f"the lab's app does not answer on the bastion's port {port}:\n{logs.stdout[-1500:]}",
                            pytrace=False)
        yield LabApp(workshop, attendee_shell, started)
    finally:
        app.stop(attendee_shell)


@dataclass
class WatchedRotations:
    watch: Watch
    rotations: list[Rotation]
    start: float
    end: float


@pytest.fixture(scope="session")
def app_through_two_rotations(lab_app: LabApp) -> WatchedRotations:
    """Each variant's `/`, asked many times a second, before, during and after two rotations."""
    watch = lab_app.watch()
    start = time.time()
    rotations = []
    try:
        lab_app.watch_before_a_change(watch, start)
        for number in (1, 2):
            watch.mark(f"rotation {number}")
            rotations.append(rotate(lab_app.workshop))
            lab_app.watch_a_little_more(watch)
    finally:
        watch.stop()
    return WatchedRotations(watch, rotations, start, time.time())


# The lesson of a secret changed alone is get_secret's (seed 003); the hard-coded variant is shown beside it. The
# caching variant is watched through the two rotations: here its forced refresh after the repairing rotation
# (AWS's caching client first waits 2.5 to 5 s) would only lengthen a watch whose checks do not judge it.
DESYNC_VARIANTS = ("hardcoded", "get-secret")


@dataclass
class WatchedDesync:
    watch: Watch
    rotation: Rotation
    start: float
    put_at: float
    end: float


@pytest.fixture(scope="session")
def app_through_a_secret_changed_alone(lab_app: LabApp, app_through_two_rotations: WatchedRotations) -> WatchedDesync:
    """The lab's lesson: PutSecretValue of a new password (the database keeps the old one), then a
    rotation (which logs in with AWSPREVIOUS, the database's, and sets a new one for both)."""
    workshop = lab_app.workshop
    document = workshop.secret_document()
    fresh = workshop.secrets_manager().get_random_password(PasswordLength=32, ExcludeCharacters="\"'@/\\`")
    document["password"] = fresh["RandomPassword"]
    changed = json.dumps(document)
    REGISTRY.register_secret_string(changed)
    watch = lab_app.watch(DESYNC_VARIANTS)
    start = time.time()
    try:
        lab_app.watch_before_a_change(watch, start)
        watch.mark("PutSecretValue")
        put_at = time.time()
        workshop.secrets_manager().put_secret_value(SecretId=workshop.secret_arn, SecretString=changed)
        lab_app.watch_a_little_more(watch)
        watch.mark("rotation")
        rotation = rotate(workshop)
        lab_app.watch_a_little_more(watch)
    finally:
        watch.stop()
    return WatchedDesync(watch, rotation, start, put_at, time.time())
