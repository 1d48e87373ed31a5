"""What the template tests share: where the template is, the parameters without defaults."""
from __future__ import annotations

from pathlib import Path

TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "workshop" / "template.yaml"
REQUIRED_PARAMS = {"BastionImageId": "ami-12c6146b", "RotationCodeBucket": "code-bucket",
                   "RotationCodeKey": "rotation.zip",
                   "BastionFilesKey": "bastion/files.tar.gz"}


def props(template: dict, logical_id: str) -> dict:
    return template["Resources"][logical_id]["Properties"]
