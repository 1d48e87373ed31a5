"""localaws.ext.secrets_staging_labels: staging labels as PutSecretValue and UpdateSecretVersionStage leave
them (Secrets Manager API reference). The rotation-side rule (RotationAbandoned) is pinned in
test_secrets_rotation_failures.py."""
from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError

from tests.support.aws_helpers import unique
from tests.fidelity.validation import NOT_YET_VALIDATED


def _stages(sm, arn: str) -> dict[str, list[str]]:
    return sm.describe_secret(SecretId=arn)["VersionIdsToStages"]


@pytest.mark.parametrize("label", ["AWSPENDING", "STAGED"])
@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_moving_a_label_attached_elsewhere_needs_remove_from_version_id(aws, label):
    """UpdateSecretVersionStage, RemoveFromVersionId: "If the staging label you are trying to attach to one
    version is already attached to a different version, then you must include this parameter ... If the label
    is attached and you either do not specify this parameter, or the version ID does not match, then the
    operation fails" (InvalidParameterException); nothing changes."""
    sm = aws.client("secretsmanager")
    arn = sm.create_secret(Name=unique("labels/move"), SecretString="one")["ARN"]
    target = sm.put_secret_value(SecretId=arn, SecretString="two", VersionStages=["OTHER"])["VersionId"]
    # made last: a version made after an AWSPENDING one abandons its rotation (RotationAbandoned)
    held = sm.put_secret_value(SecretId=arn, SecretString="three", VersionStages=[label])["VersionId"]
    before = _stages(sm, arn)
    with pytest.raises(ClientError) as refused:
        sm.update_secret_version_stage(SecretId=arn, VersionStage=label, MoveToVersionId=target)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"
    message = refused.value.response["Error"]["Message"]
    assert f"Staging label {label} is currently attached to version {held}" in message
    assert _stages(sm, arn) == before

    sm.update_secret_version_stage(SecretId=arn, VersionStage=label, MoveToVersionId=target, RemoveFromVersionId=held)
    stages = _stages(sm, arn)
    assert sorted(stages[target]) == sorted(["OTHER", label]) and held not in stages


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_label_is_listed_once_per_version(aws):
    """UpdateSecretVersionStage: "The staging labels that you specify in the VersionStage parameter are added
    to the existing list": moving a label onto the version that holds it leaves one."""
    sm = aws.client("secretsmanager")
    arn = sm.create_secret(Name=unique("labels/once"), SecretString="one")["ARN"]
    staged = sm.put_secret_value(SecretId=arn, SecretString="two", VersionStages=["STAGED"])["VersionId"]
    sm.update_secret_version_stage(SecretId=arn, VersionStage="STAGED", MoveToVersionId=staged)
    assert _stages(sm, arn)[staged] == ["STAGED"]


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_new_current_version_moves_only_the_labels_it_names(aws):
    """PutSecretValue, VersionStages: "If you specify a staging label that's already associated with a
    different version of the same secret, then Secrets Manager removes the label from the other version and
    attaches it to this version. If you specify AWSCURRENT, and it is already attached to another version,
    then Secrets Manager also moves the staging label AWSPREVIOUS to the version that AWSCURRENT was removed
    from": its other labels stay."""
    sm = aws.client("secretsmanager")
    created = sm.create_secret(Name=unique("labels/current"), SecretString="one")
    arn, first = created["ARN"], created["VersionId"]
    sm.update_secret_version_stage(SecretId=arn, VersionStage="KEEP", MoveToVersionId=first)
    staged = sm.put_secret_value(SecretId=arn, SecretString="two", VersionStages=["STAGED"])["VersionId"]

    third = sm.put_secret_value(SecretId=arn, SecretString="three", VersionStages=["AWSCURRENT", "STAGED"])["VersionId"]

    stages = _stages(sm, arn)
    assert sorted(stages[third]) == ["AWSCURRENT", "STAGED"]
    assert sorted(stages[first]) == ["AWSPREVIOUS", "KEEP"]
    assert staged not in stages, "STAGED was left on the version it moved from"
    assert sm.get_secret_value(SecretId=arn)["VersionId"] == third


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_version_with_a_value_cannot_be_given_another(aws):
    """PutSecretValue: "If you call this operation with a ClientRequestToken that matches an existing
    version's VersionId, and you specify the same secret data, the operation succeeds but does nothing.
    However, if the secret data is different, then the operation fails because you can't modify an existing
    version" (ResourceExistsException) -- an AWSPENDING version included; the empty AWSPENDING version a
    rotation starts with is the one createSecret fills."""
    sm = aws.client("secretsmanager")
    arn = sm.create_secret(Name=unique("labels/immutable"), SecretString="one")["ARN"]
    token = str(uuid.uuid4())
    sm.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString="pending", VersionStages=["AWSPENDING"])
    again = sm.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString="pending",
                                VersionStages=["AWSPENDING"])
    assert again["VersionId"] == token
    with pytest.raises(ClientError) as refused:
        sm.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString="another",
                            VersionStages=["AWSPENDING"])
    assert refused.value.response["Error"]["Code"] == "ResourceExistsException"
    assert refused.value.response["Error"]["Message"] == (
        f"You can't use ClientRequestToken {token} because that value is already in use for a version of secret "
        f"{arn}.")
    assert sm.get_secret_value(SecretId=arn, VersionId=token)["SecretString"] == "pending"
