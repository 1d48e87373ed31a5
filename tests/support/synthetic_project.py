"""A synthetic workshop run for the report's own tests: the report plugins over small checks in
tests/template, tests/rds, tests/fargate, tests/tls_user, tests/app and tests/audit of a project in tmp_path,
in both modes, with no AWS and no database. Each check names a guide step (in the reverse of the guide's
order) and records evidence holding a registered secret.
"""
from __future__ import annotations

import base64
import html
import json
import os
import re
import textwrap
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from suite.redaction import encoded_forms
from suite.report.guide_steps import BEFORE, STEPS
from suite.report.phases import PHASES, folders
from tests.support.forked_pytest import run_pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PHASE_FOLDERS = tuple(folder.removeprefix("tests/") for folder in folders())
SECRET = "Sy<n>th&'e\"tic $ecret"  # < and & too: masked before it is HTML-escaped
LATE_SECRET = "registered-after-the-evidence-was-recorded"

CONFTEST = '''
"""The report plugins, and an `aws` and a `workshop` like the suite's, that need no AWS."""
from pathlib import Path

import boto3
import pytest

from suite.deploy.stack import StackSettings, WorkshopStack
from suite.workshop_folder import WorkshopFolder
from suite.attendee.database import DBCredentials, DirectRoute
from suite.redaction import REGISTRY
from suite.targets import LIVE_TIMING, OFFLINE_TIMING, AwsTarget
from suite.workshop import Workshop

pytest_plugins = ["suite.redaction", "suite.report.evidence", "suite.report.runfacts", "suite.report.plugin"]


@pytest.fixture(scope="session", params=[pytest.param("offline", marks=pytest.mark.offline, id="offline"),
                                          pytest.param("live", marks=pytest.mark.live, id="live")])
def aws(request):
    live = request.param == "live"
    return AwsTarget(mode=request.param, region="eu-west-1", account_id="111122223333", run_id="synthetic",
                     client_factory=lambda service, credentials=None: boto3.client(service, region_name="eu-west-1"),
                     bastion=DirectRoute(), timing=LIVE_TIMING if live else OFFLINE_TIMING,
                     stack_name="smdemo-synthetic" if live else "smdemo", secret_name="smdemo",
                     endpoint_url=None if live else "http://127.0.0.1:9",
                     endpoint_note="" if live else "the local AWS",
                     versions={{}} if live else {{"moto": "5.2.5"}},
                     not_modelled=lambda: [] if live else {not_modelled!r})


@pytest.fixture(scope="session")
def workshop(aws):
    REGISTRY.register({secret!r})
    settings = StackSettings(stack_name=aws.stack_name, secret_name="smdemo", name_prefix="smdemo", run_id="synthetic")
    stack = WorkshopStack(client=aws.client, region=aws.region, workshop=WorkshopFolder(Path({root!r}) / "workshop"),
                          settings=settings)
    stack.outputs = {{"DBEndpointAddress": "127.0.0.1", "DBEndpointPort": "9"}}
    return Workshop(aws=aws, stack=stack, hardcoded=DBCredentials("127.0.0.1", 9, "smadmin", {secret!r}),
                    rotation_timeout=1)
'''

CHECK = '''
import pytest
from pytest_html import extras as html_extras

from suite.redaction import REGISTRY


@pytest.mark.guide_step({step!r})
def test_{phase}_check_{number}(workshop, evidence, extras):
    extras.append(html_extras.text("pytest-html's own extra: " + {late!r}, name="own"))  # base64 in the report
    evidence.table("bookinfo rows read", ["BookId", "BookTitle", "password"], [[1, "A Tale of Two Cities", {secret!r}]])
    evidence.text("SSH transcript", "$ mysql --password=" + {secret!r} + " -e 'SELECT 1'\\n" + {late!r})
    evidence.expect("{phase} step {number} works as the workshop says", "it {found}, with " + {secret!r})
    REGISTRY.register({late!r})
    assert {passes}, "the {phase} step {number} did not work"
'''

INI = """[pytest]
markers =
    offline: local
    live: real AWS
    guide_step(step): the guide's step a check verifies
"""
PHASE_NAMES = {PHASES[name].removeprefix("tests/").rstrip("/"): name for name in PHASES}

STEP_PHASES = {"template": BEFORE}  # the Template phase's steps are "Before class N"


def step_of_check(phase: str, number: int) -> str:
    """Check 1 verifies its phase's last step, check 2 the one before: the guide's order is not the files'."""
    steps = [step.name for step in STEPS if step.phase == STEP_PHASES.get(phase, PHASE_NAMES[phase])]
    return steps[-number % len(steps)]


@dataclass
class SyntheticRun:
    returncode: int
    terminal: str
    html: Path
    junit: Path

    @property
    def verdict_line(self) -> str:
        lines = [line for line in self.terminal.splitlines() if "workshop verdict:" in line]
        return lines[-1] if lines else ""

    def junit_properties(self) -> dict[str, str]:
        return {prop.get("name"): prop.get("value") for prop in ET.parse(self.junit).getroot().iter("property")}

    def report_data(self) -> dict:
        """pytest-html's data (environment, tests with their extras), as its JavaScript reads it."""
        blob = re.search(r'data-jsonblob="(.*?)"', self.html.read_text(encoding="utf-8"), re.S)
        assert blob, "no data blob in the HTML report"
        return json.loads(html.unescape(blob.group(1)))


def write_project(root: Path, phases: tuple[str, ...] = PHASE_FOLDERS, failing: tuple[str, ...] = (),
                  checks_per_phase: int = 2, not_modelled: tuple[str, ...] = ()) -> None:
    """`not_modelled`: the settings the offline target says its local AWS does not model."""
    (root / "pytest.ini").write_text(INI)
    (root / "conftest.py").write_text(CONFTEST.format(secret=SECRET, root=str(PROJECT_ROOT),
                                                      not_modelled=list(not_modelled)))
    for phase in phases:
        folder = root / "tests" / phase
        folder.mkdir(parents=True, exist_ok=True)
        body = "".join(CHECK.format(phase=phase, number=number, secret=SECRET, late=LATE_SECRET,
                                    step=step_of_check(phase, number),
                                    passes=phase not in failing, found="did not" if phase in failing else "did")
                       for number in range(1, checks_per_phase + 1))
        (folder / f"test_{phase}_checks.py").write_text(textwrap.dedent(body))


def run(root: Path, *args: str, marks: str = "offline or live") -> SyntheticRun:
    report, junit = root / "reports" / "report.html", root / "reports" / "report.xml"
    done = run_pytest(["tests", "-m", marks, "-p", "no:cacheprovider", "-rA",
                       f"--html={report}", "--self-contained-html", f"--junitxml={junit}", *args],
                      cwd=root, env=dict(os.environ, PYTHONPATH=str(PROJECT_ROOT)), timeout=300)
    return SyntheticRun(done.returncode, done.stdout + done.stderr, report, junit)


def leaked(text: str, *secrets: str) -> list[str]:
    """The forms of the secrets found in text: read as is, HTML-unescaped once and twice (the report's
    data blob holds escaped HTML inside an escaped attribute), and its base64 data URIs decoded."""
    forms = {form for secret in secrets for form in encoded_forms(secret) if len(form) >= 4}
    views = [text, html.unescape(text), html.unescape(html.unescape(text))]
    views += [base64.b64decode(data).decode(errors="replace") for data in re.findall(r"base64,([A-Za-z0-9+/=]+)", text)]
    return sorted({form for form in forms for view in views if form in view})
