"""The guide's steps, in the guide's order, and the marker that says which one a check verifies.

    @pytest.mark.guide_step("RDS 4")
    def test_hardcoded_credentials_fail_after_rotation(...): ...

A step is named by its phase and number as the guide numbers them (shared/reference/workshop.md beside the
repository: the RDS phase of seed 002, the Fargate phase of seed 001, lab C of seed 004, whose step 6 is the
Audit phase). What an author checks before class, on the workshop's files, with nothing deployed (the
Template phase: linters, the static scanner, the reviewer's controls, the rotation function's package) is
"Before class N". What the suite verifies that no guide step asks for (least privilege, leaks,
reviewers' controls) is under "Beyond the guide". A name that is not here fails collection, so a
typo cannot hide a check from its step.
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest

MARKER = "guide_step"
BEYOND = "Beyond the guide"  # what the suite verifies for safety that no step of the guide asks for
BEFORE = "Before class"  # the Template phase: the workshop's files, read before anything is deployed


@dataclass(frozen=True)
class Step:
    phase: str
    number: int
    title: str
    order: int  # its place in the guide: the report sorts by it

    @property
    def name(self) -> str:
        """What a check's marker says: "RDS 4"."""
        return f"{self.phase} {self.number}"

    @property
    def label(self) -> str:
        """What an instructor reads: "RDS phase, step 4: Rotate the secret immediately ..."."""
        if self.phase == BEYOND:
            return f"{BEYOND}: {self.title}"
        if self.phase == BEFORE:
            return f"{BEFORE}, step {self.number}: {self.title}"
        return f"{self.phase} phase, step {self.number}: {self.title}"

    @property
    def sort_key(self) -> str:
        return f"{self.order:03d}"


_GUIDE = [
    # Template phase: the workshop's files as handed out, read before anything is deployed
    (BEFORE, 1, "cfn-lint finds no error in the template (its warnings shown)"),
    (BEFORE, 2, "checkov: every check met, or skipped in the resource's Metadata with a written reason"),
    (BEFORE, 3, "The reviewer's controls on the template: one secret per grant, no wildcard, excluded characters, "
                "rotation schedule, no public database, no secret in a task's environment, the project tag"),
    (BEFORE, 4, "shellcheck finds no error in the shell scripts of docker/ and app/"),
    (BEFORE, 5, "hadolint finds no error in the Dockerfile"),
    (BEFORE, 6, "The rotation function's package runs on its declared runtime: every import bundled or in the "
                "runtime, its code in the runtime's Python"),
    # RDS phase (seed 002): the old way, the secret, the new way, rotation
    ("RDS", 0, "Open a Session Manager session on smdemo-host, sudo su - ec2-user: the scripts and tools are there"),
    ("RDS", 1, "Read bookinfo with the hard-coded password (mysql.oldway.sh)"),
    ("RDS", 2, "Store the database credentials as the secret smdemo"),
    ("RDS", 3, "Read bookinfo with the credentials from the secret (mysql.newway.sh)"),
    ("RDS", 4, "Rotate the secret immediately: mysql.oldway.sh is refused, mysql.newway.sh still works"),
    # Fargate phase (seed 001)
    ("Fargate", 1, "Build the image and push it to ECR (dockerbuild.sh, dockertagandpush.sh)"),
    ("Fargate", 2, "Create a task definition revision whose TASKDEF_SECRET comes from the secret smdemo"),
    ("Fargate", 3, "Run the task: PROVISIONING, PENDING, RUNNING"),
    ("Fargate", 4, "ssh from the bastion into the container as ec2-user"),
    ("Fargate", 5, "Read bookinfo in the container with ./mysql.newway.sh"),
    ("Fargate", 6, "env | grep TASKDEF_SECRET: the secret reached the login shell"),
    # Lab C (seed 004), numbered as the lab is; its step 6 is the Audit phase
    ("TLS user", 1, "Create demouser: TLS only (REQUIRE SSL), rights on its own database only"),
    ("TLS user", 2, "Store demouser's credentials as its own secret"),
    ("TLS user", 3, "Allow only GetSecretValue on that secret: without the policy, AccessDeniedException"),
    ("TLS user", 4, "Run db_access_test.py with the secret, over TLS verified against the CA bundle"),
    ("TLS user", 5, "Turn on rotation and rotate immediately: the test still works"),
    ("TLS user", 7, "Clean up: delete the secret with a 7-day recovery window"),
    # Lab B (seed 003): the web app through rotation
    ("App", 1, "Run the app with hard-coded credentials: CONNECTED, then DISCONNECTED after rotation"),
    ("App", 2, "Read the credentials with get_secret (and AWS's caching client): CONNECTED through rotations"),
    ("App", 3, "A secret changed without the database: DISCONNECTED until a rotation puts them in step"),
    ("App", 4, "The secret reader surfaces AccessDenied instead of returning None"),
    # Audit (lab C step 6): CloudTrail
    ("Audit", 1, "CloudTrail's GetSecretValue events name each caller, the refused one too"),
    ("Audit", 2, "CloudTrail shows the rotation: who asked, and the rotation function's calls"),
    ("Audit", 3, "The trail keeps the record: logging, read events selected, log files in its bucket"),
    (BEYOND, 1, "least privilege: only the identities that need the secret can read it"),
    (BEYOND, 2, "rotation holds up: strong passwords, a database outage, repeated or stray calls"),
    (BEYOND, 3, "after a rotation, in Fargate: the old password is refused, a new task gets the new value"),
    (BEYOND, 4, "no secret value in CloudTrail events, logs or the stack"),
    (BEYOND, 5, "Security Hub controls for the secret and the task definition"),
    (BEYOND, 6, "network: the database and SSH are closed to the internet"),
]
STEPS = [Step(phase, number, title, order) for order, (phase, number, title) in enumerate(_GUIDE)]
BY_NAME = {step.name: step for step in STEPS}
UNMARKED_SORT_KEY = f"{len(STEPS):03d}"  # checks of no step (the project's own tests) sort last


def step_of(item: pytest.Item) -> Step | None:
    """The step the item's marker names (the closest marker: a function's before its class's), None
    when unmarked. A marker that is malformed or names no step of the guide is a collection error."""
    marker = item.get_closest_marker(MARKER)
    if marker is None:
        return None
    if len(marker.args) != 1 or marker.kwargs or not isinstance(marker.args[0], str):
        raise pytest.Collector.CollectError(
            f"{item.nodeid}: write @pytest.mark.{MARKER}(\"<phase> <number>\"), e.g. {MARKER}(\"RDS 4\"); "
            f"got {MARKER}{marker.args!r}")
    step = BY_NAME.get(marker.args[0])
    if step is None:
        raise pytest.Collector.CollectError(
            f"{item.nodeid}: {MARKER}({marker.args[0]!r}) names no step of the guide; "
            f"the steps (suite/report/guide_steps.py): {', '.join(BY_NAME)}")
    return step


def unmarked(item: pytest.Item) -> pytest.Collector.CollectError:
    return pytest.Collector.CollectError(
        f"{item.nodeid} verifies no guide step: add @pytest.mark.{MARKER}(\"<phase> <number>\") above it, "
        f"naming one of suite/report/guide_steps.py's steps ({', '.join(BY_NAME)})")


# Names a function spells in lower case, as the guide spells them.
SPELLED = {"ecs": "ECS", "ec2": "EC2", "ecr": "ECR", "iam": "IAM", "rds": "RDS", "tls": "TLS", "ssh": "SSH",
           "secretsmanager": "SecretsManager", "cloudtrail": "CloudTrail", "taskdef": "TASKDEF",
           "dockerfile": "Dockerfile", "cfnlint": "cfn-lint"}


def check_title(nodeid: str) -> str:
    """"tests/rds/x.py::test_old_way_fails[offline]" -> "Old way fails [offline]": the function, read as words."""
    if "::" not in nodeid:  # a module that did not collect
        return nodeid
    name, bracket, params = nodeid.rsplit("::", 1)[-1].partition("[")
    words = " ".join(SPELLED.get(word, word) for word in name.removeprefix("test_").split("_") if word) or name
    return words[:1].upper() + words[1:] + (f" [{params}" if bracket else "")
