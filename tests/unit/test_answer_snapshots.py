"""tests/fidelity/answer_snapshots.py: an answer unlike AWS's stored one is named, member by member."""
from __future__ import annotations

import json
from pathlib import Path

from tests.fidelity.answer_snapshots import differences, normalise, shape

STORED = json.loads((Path(__file__).resolve().parents[1] / "fidelity" / "snapshots"
                     / "secretsmanager_describe_secret.json").read_text())["answer"]


def test_an_answer_unlike_the_stored_one_is_named():
    answer = {"ARN": "arn:aws:secretsmanager:us-east-1:111122223333:secret:x-AbCdEf", "Name": "x",
              "LastChangedDate": "yesterday", "SecretVersionsToStages": {"a1b2c3d4-0000-1111-2222-333344445555": []},
              "VersionIdsToStages": {"a1b2c3d4-0000-1111-2222-333344445555": ["AWSCURRENT"]}}
    found = differences(normalise(answer), STORED, ["VersionIdsToStages", "SecretVersionsToStages"])
    assert found == ["SecretVersionsToStages: present here, absent in AWS's answer",
                     "LastChangedDate: string here, <date> in AWS's answer"], found


def test_ids_are_numbered_so_a_repeated_one_reads_as_the_same():
    arn = "arn:aws:secretsmanager:us-east-1:111122223333:secret:x-AbCdEf"
    assert normalise({"ARN": arn, "Again": arn, "Other": arn + "x"}) == {"ARN": "<arn:1>", "Again": "<arn:1>",
                                                                         "Other": "<arn:2>"}
    assert shape({"<uuid:1>": ["A"], "<uuid:2>": ["B"]}) == {"<uuid>": {"[]": "string"}}
