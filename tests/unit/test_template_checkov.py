"""checkov over infra/template.yaml: every check is met or skipped in the template's Metadata with
a written reason; a template that opens the database to the internet fails the scan."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from suite.controls.static_scan import scan

TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "template.yaml"
MIN_REASON = 40  # characters: a reason, not "n/a"


@pytest.fixture(scope="module")
def workshop_scan():
    return scan(TEMPLATE)


def test_template_meets_every_checkov_check_it_does_not_skip(workshop_scan):
    assert workshop_scan.passed > 50, f"checkov {workshop_scan.version} checked almost nothing"
    assert not workshop_scan.failed, "\n".join(map(str, workshop_scan.failed))


def test_every_skip_gives_its_reason(workshop_scan):
    short = [finding for finding in workshop_scan.skipped if len(finding.comment.strip()) < MIN_REASON]
    assert not short, "skipped without a written reason:\n" + "\n".join(map(str, short))


def test_scan_fails_a_template_that_opens_the_database_and_ssh(tmp_path):
    """The scan has teeth: the faults the audit phase catches on the deployed stack, caught statically."""
    template = yaml.safe_load(TEMPLATE.read_text())
    resources = template["Resources"]
    resources["DBInstance"]["Properties"]["PubliclyAccessible"] = True
    resources["BastionSSHFromAdmin"]["Properties"]["CidrIp"] = "0.0.0.0/0"
    broken = tmp_path / "template.yaml"
    broken.write_text(yaml.safe_dump(template, sort_keys=False))
    failed = {finding.check_id for finding in scan(broken).failed}
    assert {"CKV_AWS_17", "CKV_AWS_24"} <= failed, failed
