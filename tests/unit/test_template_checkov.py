"""checkov's teeth on a template that opens the database to the internet. That the workshop's template meets
every check it does not skip, and gives each skip its reason, is the Template phase's check (tests/template),
over the workshop under test."""
from __future__ import annotations

from pathlib import Path

import yaml

from suite.controls.static_scan import scan

TEMPLATE = Path(__file__).resolve().parents[2] / "workshop" / "template.yaml"


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
