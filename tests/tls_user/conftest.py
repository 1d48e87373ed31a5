"""Lab C's fixtures (seed 004): demouser made in the database, its secret read through its own role."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import pytest

from suite.account_changes import CREATES_DEMOUSER, changes_account
from suite.attendee.database import DBCredentials, connect, verified_tls
from suite.attendee.demouser import lab_sql, make_lab_user
from suite.credentials import Credentials
from suite.workshop_folder import workshop_folder
from suite.redaction import REGISTRY
from suite.workshop import Workshop, read_secret_document


@dataclass
class LabC:
    """demouser's side of the workshop: its secret (as a Workshop view, so that the rotation steps
    apply to it), its role and policy, and the RDS CA bundle its TLS is verified against."""

    workshop: Workshop  # seen through demouser's secret
    role_arn: str
    policy_arn: str
    ca_bundle: str

    @property
    def secret_arn(self) -> str:
        return self.workshop.secret_arn

    def role_credentials(self) -> Credentials:
        """AssumeRole into the lab's application role (the role's trust admits this account)."""
        sts = self.workshop.aws.client("sts")
        issued = sts.assume_role(RoleArn=self.role_arn, RoleSessionName="lab-c-db-access-test")["Credentials"]
        REGISTRY.register([issued["SecretAccessKey"], issued["SessionToken"]])
        return Credentials(issued["AccessKeyId"], issued["SecretAccessKey"], issued["SessionToken"])

    def read_as_application(self, **selector: str) -> DBCredentials:
        """db_access_test.py's first step: the secret, read with the role's credentials."""
        reader = self.workshop.secrets_manager(self.role_credentials())
        document = self.workshop.once_iam_allows(lambda: read_secret_document(reader, self.secret_arn, **selector))
        return DBCredentials.from_secret(document, where=f"secret {self.secret_arn}")

    def turn_on_rotation(self) -> str:
        """The lab's step: rotation with the stack's function every 30 days, rotating immediately;
        the new version's id."""
        return self.workshop.secrets_manager().rotate_secret(
            SecretId=self.secret_arn, RotationLambdaARN=self.workshop.outputs["RotationFunctionArn"],
            RotationRules={"AutomaticallyAfterDays": 30}, RotateImmediately=True)["VersionId"]

    def connect(self, credentials: DBCredentials, tls: bool = True) -> Any:
        return connect(credentials, self.workshop.route(), tls=verified_tls(self.ca_bundle) if tls else False)


@pytest.fixture(scope="session")
@changes_account(CREATES_DEMOUSER)
def lab_c(workshop: Workshop) -> LabC:
    """As the lab's administrator: demouser made with the lab's SQL, as the master user, with the
    password its secret holds."""
    view = dataclasses.replace(workshop, secret_output="DemoUserSecretArn")
    secret = view.secret_document()
    with connect(workshop.credentials_from_secret(), workshop.route()) as admin:
        make_lab_user(admin, secret, lab_sql(workshop_folder()))
    return LabC(view, workshop.outputs["DemoUserRoleArn"], workshop.outputs["DemoUserReadPolicyArn"],
                workshop.aws.rds_ca_bundle())
