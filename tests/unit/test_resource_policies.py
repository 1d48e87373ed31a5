"""localaws.resource_policies' wildcards, as IAM documents them (IAM User Guide, "IAM JSON policy elements: Resource",
wildcards in ARNs; StringLike and ArnLike): `*` any run of characters, `?` any one character, everything else itself,
case-sensitive. A resource policy naming its resources with `?` admits them, as AWS does (parliament's match, used
before, took `?` literally: a policy AWS honours was refused offline)."""
from __future__ import annotations

import pytest

from localaws.resource_policies import decision, is_glob_match

BUCKET = "arn:aws:s3:::smdemo-trail-1"


@pytest.mark.parametrize(("pattern", "value", "matches"), [
    ("arn:aws:s3:::smdemo-trail-?", BUCKET, True),
    ("arn:aws:s3:::smdemo-trail-?", "arn:aws:s3:::smdemo-trail-", False),  # `?` is exactly one character
    ("arn:aws:s3:::smdemo-trail-??", BUCKET, False),
    ("arn:aws:s3:::smdemo-*", BUCKET, True),
    ("arn:aws:s3:::smdemo-trail-1*", BUCKET, True),  # `*` may be nothing
    ("arn:aws:s3:::smdemo-trail-1/*", f"{BUCKET}/AWSLogs/123456789012/x.json.gz", True),  # and cross `/`
    ("arn:aws:s3:::smdemo.trail.1", BUCKET, False),  # `.` is itself
    ("arn:aws:s3:::smdemo-trail-[1]", BUCKET, False),  # so are brackets
    ("arn:aws:s3:::SMDEMO-trail-1", BUCKET, False),  # case-sensitive
    ("*", BUCKET, True),
])
def test_iam_wildcards(pattern, value, matches):
    assert is_glob_match(pattern, value) is matches


def test_a_bucket_policy_naming_its_bucket_with_a_question_mark_admits_the_service():
    statement = {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:GetBucketAcl",
                 "Resource": "arn:aws:s3:::smdemo-trail-?"}
    assert decision([statement], "cloudtrail.amazonaws.com", "s3:GetBucketAcl", BUCKET, {}) == "Allow"
