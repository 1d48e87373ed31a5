"""Lab B (seed 003): the lab's web app on the bastion, watched while its secret rotates and while the secret is
changed without the database; beside the RDS, Fargate and TLS user phases when it can be.

The lesson mostly waits: on each change to settle, and on AWS's caching client, which waits 2.5 to 5 s before a
forced refresh. When the App lab has a secret of its own (the stack's `AppUserSecretArn`: appuser, lab B's
database user), nothing the RDS, Fargate or TLS user phases do reads or changes it: the lesson then starts in a
thread of its own when the first of their checks runs, and the App phase's checks judge what it saw. A workshop
whose app has no secret of its own (it reads smdemo, which those phases rotate and compare) gets its lesson when
the App phase's checks ask for it, after them, as before.
"""
from __future__ import annotations

import dataclasses
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Iterator

import pytest
from tenacity import retry, retry_if_result, stop_after_delay, stop_when_event_set, wait_fixed

from suite.account_changes import CREATES_APPUSER, STARTS_APP, changes_account
from suite.attendee import lab_app as app
from suite.attendee.database import connect
from suite.attendee.demouser import lab_sql, make_lab_user
from suite.attendee.lab_app import PORTS, UNREACHABLE, Sample, Watch, ask
from suite.attendee.session_manager import AttendeeShell
from suite.beside import STARTS, Beside, Start, Stopped
from suite.redaction import REGISTRY
from suite.rotations import Rotation, rotate
from suite.workshop import Workshop
from suite.workshop_folder import workshop_folder

OWN_SECRET = "AppUserSecretArn"  # the stack output naming lab B's own secret
BESIDE = ("RDS", "Fargate", "TLS user")  # the phases the lesson may run beside: none touches lab B's secret


@dataclass
class LabB:
    """The App lab's side of the workshop: the secret its app reads, as a Workshop view (the rotation steps
    apply to it), and whether that secret is the lab's own or smdemo."""

    workshop: Workshop
    own_secret: bool


def lab_b_of(workshop: Workshop) -> LabB:
    """As the lab's administrator: appuser made with the lab's SQL (labs/appuser.sql), as the master user, with
    the password its secret generated. Without a secret of its own, the app reads smdemo."""
    if OWN_SECRET not in workshop.outputs:
        return LabB(workshop, own_secret=False)
    view = dataclasses.replace(workshop, secret_output=OWN_SECRET)
    with connect(workshop.credentials_from_secret(), workshop.route()) as admin:
        make_lab_user(admin, view.secret_document(), lab_sql(workshop_folder(), "appuser.sql"), "labs/appuser.sql")
    return LabB(view, own_secret=True)


def turn_on_rotation(lab: LabB) -> None:
    """The lab's step for its own secret: rotation with the stack's function every 30 days, rotating immediately
    (as the original lab's RotationSchedule did on create), awaited."""
    workshop = lab.workshop
    started = time.time()
    token = workshop.secrets_manager().rotate_secret(
        SecretId=workshop.secret_arn, RotationLambdaARN=workshop.outputs["RotationFunctionArn"],
        RotationRules={"AutomaticallyAfterDays": 30}, RotateImmediately=True)["VersionId"]
    workshop.wait_for_current(token, since=started - 1)


@dataclass
class LabApp:
    workshop: Workshop
    attendee: AttendeeShell
    started: list
    stopping: threading.Event = field(default_factory=threading.Event)  # the run is ending: no new change
    watches: list[Watch] = field(default_factory=list)

    def watch(self, variants: tuple[str, ...] = tuple(PORTS)) -> Watch:
        """Each variant asked again as soon as it answered (a user reloading): many times a second."""
        self.go_on()
        watch = Watch(self.workshop.route(), {variant: PORTS[variant] for variant in variants},
                      interval=self.workshop.aws.timing.watch_interval)
        self.watches.append(watch)
        return watch.start()

    def go_on(self) -> None:
        if self.stopping.is_set():
            raise Stopped("the run ended while the lesson watched the lab's app")

    def stop_watching(self) -> None:
        for watch in list(self.watches):
            watch.stop()

    def settle(self) -> float:
        """How long to keep watching before and after a change: a few answers' worth (offline 0.3 s, two or three
        answers of each variant). What a check judges is awaited apart: an answer to a request made after it."""
        return min(max(0.3, self.workshop.aws.timing.rotation_poll * 6), 30)

    def watch_a_little_more(self, watch: Watch) -> None:
        """The settling time, then until each variant has answered a request made after it."""
        self.stopping.wait(self.settle())
        watch.wait_answered_since(time.time(), timeout=30)
        self.go_on()

    def watch_before_a_change(self, watch: Watch, since: float) -> None:
        """The settling time, and until each variant has answered a request made since the watch began:
        what it says before the change is an answer, not a request still in flight when the change
        begins (on a loaded machine one answer can take longer than the settling time)."""
        self.stopping.wait(self.settle())
        watch.wait_answered_since(since, timeout=30)
        self.go_on()


def start_lab_app(lab: LabB, attendee: AttendeeShell, stopping: threading.Event) -> LabApp:
    """`./app/start.sh VARIANT PORT SECRET` for each variant, on the bastion as ec2-user, answering; what did
    start is stopped again if the app as a whole does not (the lesson's teardown stops an app that did)."""
    workshop = lab.workshop
    workshop.route()  # the app's answers are asked for through the suite's own route: not started without it
    started = []
    try:
        for variant, port in PORTS.items():
            if stopping.is_set():  # no app started after the run's end stopped the others
                raise Stopped("the run ended before the lab's app started")
            started.append(app.start(attendee, variant, port, workshop.secret_arn))
        failed = [done for done in started if done.exit_status != 0]
        if failed:
            pytest.fail("the lab's app did not start on the bastion:\n"
                        + "\n".join(done.shown()[-800:] for done in failed), pytrace=False)
        for port in PORTS.values():
            @retry(stop=stop_after_delay(30) | stop_when_event_set(stopping),
                   wait=wait_fixed(workshop.aws.timing.watch_interval),
                   retry=retry_if_result(lambda s: s.status == UNREACHABLE))
            def answering() -> Sample:
                return ask(workshop.route(), port)
            if answering().status == UNREACHABLE:
                logs = app.logs(attendee)
                pytest.fail(f"the lab's app does not answer on the bastion's port {port}:\n{logs.stdout[-1500:]}",
                            pytrace=False)
    except BaseException:
        if started:
            app.stop(attendee)
        raise
    return LabApp(workshop, attendee, started, stopping)


@dataclass
class WatchedRotations:
    watch: Watch
    rotations: list[Rotation]
    start: float
    end: float


def watch_two_rotations(lab_app: LabApp) -> WatchedRotations:
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


def watch_secret_changed_alone(lab_app: LabApp) -> WatchedDesync:
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


def app_lesson_of(lab: LabB, attendee: AttendeeShell) -> Beside:
    """The lesson's steps: rotation turned on for the lab's own secret and the app started, watched through two
    rotations, then through a secret changed alone."""
    lesson = Beside("app-lesson", {})

    def lab_app() -> LabApp:
        if lab.own_secret:
            turn_on_rotation(lab)
        return start_lab_app(lab, attendee, lesson.stopping)

    lesson.steps.update({"lab_app": lab_app,
                         "two_rotations": lambda: watch_two_rotations(lesson.results["lab_app"]),
                         "secret_changed_alone": lambda: watch_secret_changed_alone(lesson.results["lab_app"])})
    return lesson


def stop_lesson(lesson: Beside, lab: LabB, attendee: AttendeeShell) -> None:
    """Its watches and thread stopped (a rotation under way ends within the rotation timeout), then the app
    stopped on the bastion if it started (one that failed to start has stopped what of it did)."""
    lesson.stopping.set()
    started: LabApp | None = lesson.results.get("lab_app")
    if started is not None:
        started.stop_watching()
    lesson.stop(timeout=lab.workshop.rotation_timeout + 5)
    if "lab_app" in lesson.results:
        app.stop(attendee)


@pytest.fixture(scope="session")
@changes_account(CREATES_APPUSER)
def lab_b(workshop: Workshop) -> LabB:
    return lab_b_of(workshop)


@pytest.fixture(scope="session")
@changes_account(STARTS_APP)
def app_lesson(lab_b: LabB, attendee_shell: AttendeeShell) -> Iterator[Beside]:
    """Lab B's lesson (its steps awaited or run by the App phase's fixtures); its app stopped at the end."""
    lesson = app_lesson_of(lab_b, attendee_shell)
    try:
        yield lesson
    finally:
        stop_lesson(lesson, lab_b, attendee_shell)


def _has_its_own_secret(request: pytest.FixtureRequest) -> bool:
    return OWN_SECRET in request.getfixturevalue("workshop").outputs


STARTS.append(Start("app_lesson", BESIDE, "App", _has_its_own_secret))
