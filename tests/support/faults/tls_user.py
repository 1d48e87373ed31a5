"""The TLS user phase's faults (lab C): the lab's SQL, demouser's role, its rotation."""
from __future__ import annotations

from tests.support.faults.base import Fault, edit_lab_sql, edit_template


def _demouser_role_with_a_second_grant(template: dict) -> None:
    template["Resources"]["DemoUserRole"]["Properties"]["Policies"] = [{
        "PolicyName": "also-read-the-secret",
        "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": {"Ref": "DemoUserSecret"}}]}}]


def _rotation_role_without_demouser(template: dict) -> None:
    for policy in template["Resources"]["RotationFunctionRole"]["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            if statement.get("Sid") == "RotateTheWorkshopSecretsOnly":
                statement["Resource"] = {"Ref": "DBSecret"}


TLS_USER_FAULTS = [
    Fault("demouser-without-require-ssl",
          "the lab's SQL makes demouser without REQUIRE SSL, so it may log in in plain text",
          edit_lab_sql(" REQUIRE SSL;", ";"),
          ("test_demouser_without_tls_is_refused",)),
    Fault("demouser-granted-every-database",
          "the lab's SQL grants demouser its privileges on every database (*.*), the workshop's included",
          edit_lab_sql("ON {dbname}.* TO", "ON *.* TO"),
          ("test_demouser_cannot_touch_the_workshop_database",)),
    Fault("demouser-cannot-insert",
          "the lab's SQL leaves INSERT out of demouser's grant, so the lab's test cannot run",
          edit_lab_sql("GRANT CREATE, INSERT, SELECT, DROP", "GRANT CREATE, SELECT, DROP"),
          ("test_demouser_runs_the_lab_test_over_verified_tls",)),
    Fault("demouser-role-with-a-second-grant",
          "the application role also has an inline policy reading demouser's secret, so detaching its policy "
          "takes nothing away",
          edit_template(_demouser_role_with_a_second_grant),
          ("test_detached_policy_denies_the_read_and_reattached_allows",)),
    Fault("rotation-function-cannot-rotate-demouser",
          "the rotation function's role may rotate the master user's secret only, not demouser's",
          edit_template(_rotation_role_without_demouser),
          ("test_demouser_secret_rotates_and_the_lab_test_still_works",)),
]
