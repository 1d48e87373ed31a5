"""Ways to break the workshop, each the way one check guards against.

A fault edits a copy of the workshop folder (`workshop/`): the template through YAML, the rotation
function by appending overrides of its step functions (the handler looks them up at call
time, so the last definition wins).
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import yaml

from localaws.ext.lambda_runtime_lifecycle import blocked

BLOCKED_RUNTIME = blocked("create-block")[-1]  # the newest one past its date (AWS moves the dates)


@dataclass(frozen=True)
class Fault:
    name: str
    breaks: str  # what a workshop author would have got wrong
    apply: Callable[[Path], None]
    caught_by: tuple[str, ...]  # the checks that must then not pass


def edit_template(*edits: Callable[[dict], None]) -> Callable[[Path], None]:
    def apply(workshop: Path) -> None:
        path = workshop / "template.yaml"
        template = yaml.safe_load(path.read_text())
        for edit in edits:
            edit(template)
        path.write_text(yaml.safe_dump(template, sort_keys=False))
    return apply


def append_to_rotation_function(code: str) -> Callable[[Path], None]:
    def apply(workshop: Path) -> None:
        path = workshop / "rotation" / "rotation_function.py"
        path.write_text(path.read_text() + "\n\n# --- injected fault ---\n" + textwrap.dedent(code))
    return apply


def _password_not_from_secret(template: dict) -> None:
    template["Resources"]["DBInstance"]["Properties"]["MasterUserPassword"] = "NotTheSecretsPassw0rd"


def _secret_not_attached(template: dict) -> None:
    resources = template["Resources"]
    del resources["SecretAttachment"]
    schedule = resources["RotationSchedule"]
    depends = schedule.get("DependsOn", [])
    schedule["DependsOn"] = [d for d in ([depends] if isinstance(depends, str) else depends) if d != "SecretAttachment"]


SECRET_NAME_PREFIX = {"Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${SecretName}*"}


def _reader_policy_on_secret_name_prefix(template: dict) -> None:
    for statement in template["Resources"]["SecretReadOnlyPolicy"]["Properties"]["PolicyDocument"]["Statement"]:
        statement["Resource"] = SECRET_NAME_PREFIX


def _without_invoke_permission(template: dict) -> None:
    resources = template["Resources"]
    del resources["RotationFunctionPermission"]
    resources["RotationSchedule"]["DependsOn"] = [d for d in resources["RotationSchedule"]["DependsOn"]
                                                  if d != "RotationFunctionPermission"]


def _function_outside_the_vpc(template: dict) -> None:
    del template["Resources"]["RotationFunction"]["Properties"]["VpcConfig"]


def _database_does_not_admit_the_function(template: dict) -> None:
    # Only the bastion's group, not the VPC's addresses: the rotation function's group is not admitted.
    rule = template["Resources"]["DBSG"]["Properties"]["SecurityGroupIngress"][0]
    del rule["CidrIp"]
    rule["SourceSecurityGroupId"] = {"Ref": "BastionSG"}


def _database_does_not_admit_the_bastion(template: dict) -> None:
    # Only the rotation function's group: the bastion (where attendees and the suite come from) is not admitted.
    rule = template["Resources"]["DBSG"]["Properties"]["SecurityGroupIngress"][0]
    del rule["CidrIp"]
    rule["SourceSecurityGroupId"] = {"Ref": "RotationFunctionSG"}


def _no_secrets_manager_endpoint(template: dict) -> None:
    del template["Resources"]["SecretsManagerEndpoint"]


def _function_lets_out_only_to_the_database(template: dict) -> None:
    # Least privilege taken one step too far: its only way out is MySQL to the database's group, so its
    # HTTPS to the Secrets Manager endpoint is dropped (in AWS every rotation step times out).
    template["Resources"]["RotationFunctionSG"]["Properties"]["SecurityGroupEgress"] = [{
        "Description": "MySQL to the database only", "IpProtocol": "tcp", "FromPort": {"Ref": "DBPort"},
        "ToPort": {"Ref": "DBPort"}, "DestinationSecurityGroupId": {"Ref": "DBSG"}}]


def _blocked_runtime(template: dict) -> None:
    template["Resources"]["RotationFunction"]["Properties"]["Runtime"] = BLOCKED_RUNTIME


def _role_trusting(role: str, service: str) -> Callable[[dict], None]:
    """The role's trust policy names another service than the one that uses the role."""
    def edit(template: dict) -> None:
        [statement] = template["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"]["Service"] != service
        statement["Principal"]["Service"] = service
    return edit


def _rotation_role_without_own_log_group(template: dict) -> None:
    properties = template["Resources"]["RotationFunctionRole"]["Properties"]
    kept = [policy for policy in properties["Policies"] if policy["PolicyName"] != "own-log-group"]
    assert len(kept) < len(properties["Policies"]), "the rotation function's role has no own-log-group"
    properties["Policies"] = kept


def _rotation_role_without_network_interfaces(template: dict) -> None:
    properties = template["Resources"]["RotationFunctionRole"]["Properties"]
    kept = [policy for policy in properties["Policies"] if policy["PolicyName"] != "vpc-network-interfaces"]
    assert len(kept) < len(properties["Policies"]), "the rotation function's role has no vpc-network-interfaces"
    properties["Policies"] = kept


def _database_storage_too_small(template: dict) -> None:
    template["Resources"]["DBInstance"]["Properties"]["AllocatedStorage"] = "5"


def _db_subnets_in_one_zone(template: dict) -> None:
    # Both subnets in the region's first zone: the DB subnet group covers one Availability Zone.
    template["Resources"]["Subnet2"]["Properties"]["AvailabilityZone"] = \
        template["Resources"]["Subnet1"]["Properties"]["AvailabilityZone"]


def _task_log_group_name_with_a_colon(template: dict) -> None:
    # LogGroupName's schema pattern is ^[.\-_/#A-Za-z0-9]{1,512}\Z; cfn-lint only warns (W1031) on a Fn::Sub.
    template["Resources"]["TaskLogGroup"]["Properties"]["LogGroupName"] = {"Fn::Sub": "/ecs/${NamePrefix}:tasks"}


def _trail_bucket_without_policy(template: dict) -> None:
    resources = template["Resources"]
    del resources["TrailBucketPolicy"]
    del resources["Trail"]["DependsOn"]


def _bastion_user_data(template: dict) -> dict:
    return template["Resources"]["Bastion"]["Properties"]["UserData"]["Fn::Base64"]


def _bastion_user_data_not_base64(template: dict) -> None:
    properties = template["Resources"]["Bastion"]["Properties"]
    properties["UserData"] = properties["UserData"]["Fn::Base64"]


def _bastion_user_data_without(*starts: str) -> Callable[[dict], None]:
    def edit(template: dict) -> None:
        user_data = _bastion_user_data(template)
        user_data["Fn::Sub"] = "".join(line for line in user_data["Fn::Sub"].splitlines(keepends=True)
                                       if not line.startswith(starts))
    return edit


def _bastion_user_data_replacing(old: str, new: str) -> Callable[[dict], None]:
    def edit(template: dict) -> None:
        user_data = _bastion_user_data(template)
        assert old in user_data["Fn::Sub"], f"{old!r} is not in the bastion's user data"
        user_data["Fn::Sub"] = user_data["Fn::Sub"].replace(old, new)
    return edit


def _bastion_role_without(policy_name: str) -> Callable[[dict], None]:
    def edit(template: dict) -> None:
        properties = template["Resources"]["BastionRole"]["Properties"]
        kept = [policy for policy in properties["Policies"] if policy["PolicyName"] != policy_name]
        assert len(kept) < len(properties["Policies"]), f"the bastion's role has no policy {policy_name}"
        properties["Policies"] = kept
    return edit


def _short_passwords(template: dict) -> None:
    template["Resources"]["RotationFunction"]["Properties"]["Environment"]["Variables"]["PASSWORD_LENGTH"] = "12"


def _reader_policy_on_every_secret(template: dict) -> None:
    for statement in template["Resources"]["SecretReadOnlyPolicy"]["Properties"]["PolicyDocument"]["Statement"]:
        statement["Resource"] = "*"


# --- the secret encrypted with a customer managed KMS key (AWS::KMS::Key)

SECRET_KEY = "SecretKey"
SECRET_KEY_ARN = {"Fn::GetAtt": [SECRET_KEY, "Arn"]}
# What the console's default key policy gives: the account (root) may do everything with the key, which
# delegates every use of it to IAM. Only a principal whose IAM policies allow kms:Decrypt on it may read.
ROOT_ADMINISTERS_THE_KEY = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "EnableIAMUserPermissions", "Effect": "Allow",
                   "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}},
                   "Action": "kms:*", "Resource": "*"}],
}
USE_THE_SECRETS_KEY = {"Sid": "UseTheSecretsKey", "Effect": "Allow",
                       "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": SECRET_KEY_ARN}


def _secret_with_customer_managed_key(template: dict) -> None:
    """smdemo encrypted with a customer managed key of the stack that only the account root administers (rotated
    yearly and tagged as the reviewer's controls want: the Template phase finds nothing wrong with it)."""
    resources = template["Resources"]
    resources[SECRET_KEY] = {"Type": "AWS::KMS::Key", "DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete",
                             "Properties": {"Description": "Encrypts the workshop secret", "EnableKeyRotation": True,
                                            "KeyPolicy": ROOT_ADMINISTERS_THE_KEY,
                                            "Tags": [{"Key": "Name", "Value": {"Fn::Sub": "${NamePrefix}-secret-key"}},
                                                     {"Key": "Project", "Value": {"Ref": "ProjectTag"}}]}}
    resources["DBSecret"]["Properties"]["KmsKeyId"] = SECRET_KEY_ARN


def _statements(template: dict, resource: str, policy_name: str | None = None) -> list[dict]:
    properties = template["Resources"][resource]["Properties"]
    if policy_name is None:
        return properties["PolicyDocument"]["Statement"]
    return next(p for p in properties["Policies"] if p["PolicyName"] == policy_name)["PolicyDocument"]["Statement"]


# Every reader of smdemo and its rotation function (and lab C's read-only policy, which the suite's reader uses).
SECRET_KEY_USERS = (("RotationFunctionRole", "rotate-db-secret"), ("BastionRole", "read-db-secret"),
                    ("TaskExecutionRole", "task-execution"), ("TaskRole", "read-db-secret"),
                    ("SecretReadOnlyPolicy", None))


def _secret_key_usable_by_every_reader(template: dict) -> None:
    for resource, policy_name in SECRET_KEY_USERS:
        _statements(template, resource, policy_name).append(dict(USE_THE_SECRETS_KEY))


# A workshop AWS accepts: smdemo under a customer managed key that its readers and rotation function may use.
SECRET_WITH_USABLE_CUSTOMER_MANAGED_KEY = edit_template(_secret_with_customer_managed_key,
                                                        _secret_key_usable_by_every_reader)


def _secret_key_usable_by_every_reader_but(resource: str) -> Callable[[dict], None]:
    def edit(template: dict) -> None:
        for user, policy_name in SECRET_KEY_USERS:
            if user != resource:
                _statements(template, user, policy_name).append(dict(USE_THE_SECRETS_KEY))
    return edit


SECRET_KEY_NOBODY_MAY_USE = Fault(
    "secret-key-no-role-may-use",
    "smdemo is encrypted with a customer managed KMS key whose policy lets the account root administer it, and no "
    "role of the stack (nor the read-only policy) is allowed kms:Decrypt/GenerateDataKey on it: the rotation "
    "schedule's testSecret is refused ('Access to KMS is not allowed'), so the stack does not deploy",
    edit_template(_secret_with_customer_managed_key),
    ("test_hardcoded_credentials_read_bookinfo_before_rotation", "test_rotation_completes",
     "test_newway_script_on_the_bastion_reads_bookinfo", "test_scoped_policy_reads_this_secret_and_no_other"))
SECRET_KEY_NOT_FOR_THE_BASTION = Fault(
    "secret-key-not-for-the-bastion",
    "smdemo's customer managed key may be used by the rotation function and the tasks but not by the bastion's "
    "role, so the guide's first step (~/oldway.cnf from the secret) and mysql.newway.sh are refused where "
    "attendees run them ('Access to KMS is not allowed')",
    edit_template(_secret_with_customer_managed_key, _secret_key_usable_by_every_reader_but("BastionRole")),
    ("test_bastion_has_the_guides_files_and_tools", "test_newway_script_on_the_bastion_reads_bookinfo",
     "test_newway_script_on_the_bastion_still_reads_bookinfo_after_rotation"))
SECRET_KEY_NOT_FOR_THE_READ_ONLY_POLICY = Fault(
    "secret-key-not-for-the-read-only-policy",
    "lab C's read-only policy allows GetSecretValue on smdemo but not kms:Decrypt on its customer managed key, "
    "so the application it is made for cannot read the secret",
    edit_template(_secret_with_customer_managed_key, _secret_key_usable_by_every_reader_but("SecretReadOnlyPolicy")),
    ("test_scoped_policy_reads_this_secret_and_no_other",))
SECRET_KEY_NOT_FOR_THE_TASK_EXECUTION_ROLE = Fault(
    "secret-key-not-for-the-task-execution-role",
    "smdemo's customer managed key may not be used by the task execution role, so the ECS agent cannot resolve "
    "TASKDEF_SECRET and the task never starts (ResourceInitializationError ... Access to KMS is not allowed)",
    edit_template(_secret_with_customer_managed_key, _secret_key_usable_by_every_reader_but("TaskExecutionRole")),
    ("test_task_reaches_running", "test_login_shell_has_taskdef_secret"))


FAULTS = [
    Fault("master-password-not-from-secret",
          "the DB's master password is a literal, not the secret's (no dynamic reference)",
          edit_template(_password_not_from_secret),
          ("test_hardcoded_credentials_read_bookinfo_before_rotation",)),
    Fault("secret-not-attached-to-db",
          "no SecretTargetAttachment: the secret lacks the DB's host and port",
          edit_template(_secret_not_attached),
          ("test_credentials_from_secret_read_bookinfo",)),
    Fault("finish-leaves-current",
          "finishSecret never moves AWSCURRENT",
          append_to_rotation_function('''
              def finish_secret(client, arn, token):
                  logger.info("finishSecret: (fault) left AWSCURRENT in place")
          '''),
          ("test_rotation_completes",)),
    Fault("finish-drops-previous",
          "finishSecret also strips AWSPREVIOUS from the old version",
          append_to_rotation_function('''
              _correct_finish = finish_secret
              def finish_secret(client, arn, token):
                  stages = client.describe_secret(SecretId=arn)["VersionIdsToStages"]
                  old = next(v for v, s in stages.items() if "AWSCURRENT" in s)
                  _correct_finish(client, arn, token)
                  if old != token:
                      client.update_secret_version_stage(SecretId=arn, VersionStage="AWSPREVIOUS",
                                                         RemoveFromVersionId=old)
          '''),
          ("test_new_version_is_current_and_old_version_is_previous",)),
    Fault("create-keeps-password",
          "createSecret copies the current password instead of making a new one",
          append_to_rotation_function('''
              def create_secret(client, arn, token):
                  current = get_secret_dict(client, arn, "AWSCURRENT")
                  client.put_secret_value(SecretId=arn, ClientRequestToken=token,
                                          SecretString=json.dumps(current), VersionStages=["AWSPENDING"])
          '''),
          ("test_hardcoded_credentials_fail_after_rotation",)),
    Fault("set-and-test-do-nothing",
          "setSecret never changes the DB password and testSecret never tries it",
          append_to_rotation_function('''
              def set_secret(client, arn, token):
                  logger.info("setSecret: (fault) did nothing")
              def test_secret(client, arn, token):
                  logger.info("testSecret: (fault) did nothing")
          '''),
          ("test_credentials_from_secret_still_read_bookinfo",)),
    Fault("password-sql-without-mysql-8",
          "setSecret changes the password with PASSWORD(), which MySQL 8 (RDS MySQL 8.0) no longer has",
          append_to_rotation_function('''
              def password_statement(server_version):
                  return "SET PASSWORD = PASSWORD(%s)"
          '''),
          ("test_rotation_completes",)),
    Fault("reader-policy-on-every-secret",
          "the application's read policy names Resource '*' instead of the secret's ARN",
          edit_template(_reader_policy_on_every_secret),
          ("test_scoped_policy_reads_this_secret_and_no_other",)),
    Fault("reader-policy-on-secret-name-prefix",
          "the application's read policy names `...:secret:<secret name>*`, which also opens secrets named like it",
          edit_template(_reader_policy_on_secret_name_prefix),
          ("test_scoped_policy_reads_this_secret_and_no_other",)),
    Fault("rotation-makes-short-passwords",
          "the rotation function makes 12-character passwords",
          edit_template(_short_passwords),
          ("test_rotated_passwords_meet_the_policy",)),
    Fault("create-makes-a-second-password",
          "createSecret makes a new password every time it is called, even for a version that has one",
          append_to_rotation_function('''
              def create_secret(client, arn, token):
                  current = get_secret_dict(client, arn, "AWSCURRENT")
                  current["password"] = new_password()
                  client.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString=json.dumps(current),
                                          VersionStages=["AWSPENDING"])
          '''),
          ("test_interrupted_rotation_resumes_and_every_step_can_repeat",)),
    Fault("handler-runs-any-request",
          "the handler runs whatever step and token it is given, without checking the version's stage",
          append_to_rotation_function('''
              def lambda_handler(event, context):
                  client = boto3.client("secretsmanager")
                  steps = {"createSecret": create_secret, "setSecret": set_secret,
                           "testSecret": test_secret, "finishSecret": finish_secret}
                  step = steps.get(event["Step"])
                  if step:
                      step(client, event["SecretId"], event["ClientRequestToken"])
          '''),
          ("test_rotation_function_refuses_what_is_not_its_rotation",)),
    # What AWS refuses outright: the stack does not deploy, so the phase's first check fails.
    Fault("rotation-function-without-invoke-permission",
          "no AWS::Lambda::Permission lets secretsmanager.amazonaws.com invoke the rotation function",
          edit_template(_without_invoke_permission),
          ("test_hardcoded_credentials_read_bookinfo_before_rotation",)),
    Fault("rotation-function-outside-the-vpc",
          "the rotation function has no VpcConfig, so it cannot reach the private database",
          edit_template(_function_outside_the_vpc),
          ("test_hardcoded_credentials_read_bookinfo_before_rotation",)),
    Fault("database-does-not-admit-the-function",
          "the database's security group admits the bastion's group only, not the rotation function",
          edit_template(_database_does_not_admit_the_function),
          ("test_hardcoded_credentials_read_bookinfo_before_rotation",)),
    Fault("database-does-not-admit-the-bastion",
          "the database's security group admits the rotation function's group only, not the bastion's",
          edit_template(_database_does_not_admit_the_bastion),
          ("test_hardcoded_credentials_read_bookinfo_before_rotation",)),
    Fault("no-secrets-manager-endpoint",
          "the VPC has no Secrets Manager endpoint (and no NAT), so the rotation function cannot call Secrets Manager",
          edit_template(_no_secrets_manager_endpoint),
          ("test_hardcoded_credentials_read_bookinfo_before_rotation",)),
    Fault("rotation-role-trusts-ec2",
          "the rotation function's role trusts ec2.amazonaws.com, not lambda.amazonaws.com (CreateFunction: "
          "\"The role defined for the function cannot be assumed by Lambda.\")",
          edit_template(_role_trusting("RotationFunctionRole", "ec2.amazonaws.com")),
          ("test_hardcoded_credentials_read_bookinfo_before_rotation",)),
    Fault("rotation-role-without-network-interfaces",
          "the rotation function is in the VPC but its role may not create, describe and delete network "
          "interfaces (CreateFunction: \"The provided execution role does not have permissions to call "
          "CreateNetworkInterface on EC2\")",
          edit_template(_rotation_role_without_network_interfaces),
          ("test_hardcoded_credentials_read_bookinfo_before_rotation",)),
    Fault("bastion-role-trusts-ssm",
          "the bastion's role trusts ssm.amazonaws.com, not ec2.amazonaws.com: EC2 cannot assume it, so the "
          "instance has no credentials and its SSM Agent never registers (no Run Command)",
          edit_template(_role_trusting("BastionRole", "ssm.amazonaws.com")),
          ("test_bastion_has_the_guides_files_and_tools",)),
    Fault("rotation-function-lets-out-only-to-the-database",
          "the rotation function's security group lets it out only to the database's group on its port, so it "
          "cannot reach the Secrets Manager endpoint",
          edit_template(_function_lets_out_only_to_the_database),
          # The stack's RotationSchedule tests the configuration (testSecret) at deploy: the deploy fails.
          ("test_hardcoded_credentials_read_bookinfo_before_rotation", "test_rotation_completes")),
    Fault("rotation-function-on-a-blocked-runtime",
          f"the rotation function uses {BLOCKED_RUNTIME}, which Lambda no longer lets anyone create",
          edit_template(_blocked_runtime),
          ("test_hardcoded_credentials_read_bookinfo_before_rotation",)),
    Fault("database-storage-too-small",
          "the DB instance asks for 5 GiB of gp3 storage (RDS MySQL's minimum is 20)",
          edit_template(_database_storage_too_small),
          ("test_hardcoded_credentials_read_bookinfo_before_rotation",)),
    Fault("db-subnet-group-in-one-zone",
          "both subnets of the DB subnet group are in one Availability Zone (RDS requires two: "
          "DBSubnetGroupDoesNotCoverEnoughAZs)",
          edit_template(_db_subnets_in_one_zone),
          ("test_hardcoded_credentials_read_bookinfo_before_rotation",)),
    Fault("task-log-group-name-with-a-colon",
          "the task's log group is named /ecs/<prefix>:tasks, which CloudFormation's schema for AWS::Logs::LogGroup "
          "refuses (Properties validation failed ... #/LogGroupName: failed validation constraint for keyword "
          "[pattern]); cfn-lint only warns (W1031)",
          edit_template(_task_log_group_name_with_a_colon),
          ("test_hardcoded_credentials_read_bookinfo_before_rotation",)),
    Fault("trail-bucket-without-policy",
          "the trail's bucket has no policy letting CloudTrail write to it",
          edit_template(_trail_bucket_without_policy),
          ("test_hardcoded_credentials_read_bookinfo_before_rotation",)),
    Fault("rotation-ignores-db-errors",
          "setSecret and testSecret swallow connection failures, so finishSecret runs anyway",
          append_to_rotation_function('''
              _correct_set, _correct_test = set_secret, test_secret
              def set_secret(client, arn, token):
                  try:
                      _correct_set(client, arn, token)
                  except Exception:
                      logger.info("setSecret: (fault) ignored a failure")
              def test_secret(client, arn, token):
                  try:
                      _correct_test(client, arn, token)
                  except Exception:
                      logger.info("testSecret: (fault) ignored a failure")
          '''),
          ("test_rotation_without_database_leaves_current_in_place",
           "test_credentials_from_secret_work_once_the_database_is_back")),
    Fault("bastion-without-the-workshop-files",
          "the bastion's user data installs the tools but never fetches the workshop's scripts into ec2-user's home",
          edit_template(_bastion_user_data_without("aws s3 cp", "sudo -u ec2-user tar", "rm -f /tmp/smdemo-files")),
          ("test_bastion_has_the_guides_files_and_tools",
           "test_oldway_script_on_the_bastion_reads_bookinfo_before_rotation")),
    Fault("bastion-user-data-not-base64",
          "the bastion's UserData lacks Fn::Base64: EC2 refuses the instance and the stack never comes up",
          edit_template(_bastion_user_data_not_base64),
          ("test_bastion_has_the_guides_files_and_tools",)),
    Fault("bastion-without-the-mysql-client",
          "the bastion's user data installs jq only, so mysql.oldway.sh and mysql.newway.sh find no mysql",
          edit_template(_bastion_user_data_replacing("dnf install -y mariadb105 jq", "dnf install -y jq")),
          ("test_bastion_has_the_guides_files_and_tools",
           "test_newway_script_on_the_bastion_reads_bookinfo")),
    Fault("bastion-role-cannot-fetch-its-files",
          "the bastion's role may not read the staged workshop files, so its user data fails at boot",
          edit_template(_bastion_role_without("workshop-files")),
          ("test_bastion_has_the_guides_files_and_tools",)),
    Fault("bastion-role-cannot-read-the-secret",
          "the bastion's role may not read the secret, so mysql.newway.sh fails where attendees run it",
          edit_template(_bastion_role_without("read-db-secret")),
          ("test_newway_script_on_the_bastion_reads_bookinfo",)),
    Fault("bastion-not-a-managed-node",
          "the bastion's role lacks the Session Manager agent's permissions: attendees cannot open a session",
          edit_template(_bastion_role_without("session-manager-core")),
          ("test_bastion_has_the_guides_files_and_tools",)),
    SECRET_KEY_NOBODY_MAY_USE,
    SECRET_KEY_NOT_FOR_THE_BASTION,
    SECRET_KEY_NOT_FOR_THE_READ_ONLY_POLICY,
]


# --- the Fargate phase: the container's scripts (docker/) and the task definition

def edit_workshop_file(relative: str, old: str, new: str) -> Callable[[Path], None]:
    """Replace `old` by `new` in the workshop's file `relative` (e.g. "app/web_app.py")."""
    def apply(workshop: Path) -> None:
        path = workshop / relative
        text = path.read_text()
        assert old in text, f"fault does not apply: {old!r} not in {relative}"
        path.write_text(text.replace(old, new))
    return apply


def edit_docker_file(name: str, old: str, new: str) -> Callable[[Path], None]:
    return edit_workshop_file(f"docker/{name}", old, new)


ORIGINAL_QUOTING = """env | grep "^TASKDEF_" | awk -F= '{printf "export %s=%c%s%c\\\\n", $1, 39, $2, 39 }' > "${tmp}"
"""
QUOTING_LOOP = """while IFS= read -r name; do
  [[ "${name}" =~ ^TASKDEF_[A-Za-z0-9_]+$ ]] || continue
  printf 'export %s=%s\\n' "${name}" "$(quote "${!name}")" >> "${tmp}"
done < <(compgen -e)
"""


def _task_secret_from(value_from: object) -> Callable[[dict], None]:
    def edit(template: dict) -> None:
        container = template["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]
        for entry in container["Secrets"]:
            if entry["Name"] == "TASKDEF_SECRET":
                entry["ValueFrom"] = value_from
    return edit


def _no_route_out(template: dict) -> None:
    del template["Resources"]["DefaultRoute"]


def _bastion_not_admitted_to_the_task(template: dict) -> None:
    # The tasks' group admits SSH from its own members only: the bastion's connection goes unanswered.
    template["Resources"]["TaskSG"]["Properties"]["SecurityGroupIngress"][0]["SourceSecurityGroupId"] = {
        "Fn::GetAtt": ["VPC", "DefaultSecurityGroup"]}


def _execution_role_without_db_secret(template: dict) -> None:
    for policy in template["Resources"]["TaskExecutionRole"]["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            if statement.get("Sid") == "ResolveTaskSecrets":
                statement["Resource"] = [{"Ref": "ContainerUserSecret"}]


def _fargate_size_not_offered(template: dict) -> None:
    properties = template["Resources"]["TaskDefinition"]["Properties"]
    properties["Cpu"], properties["Memory"] = "256", "4096"  # Fargate's 256 CPU takes 512-2048 MiB


def _execution_role_log_actions(*actions: str) -> Callable[[dict], None]:
    """The execution role's log statement allows only `actions` (none: the statement is gone)."""
    def edit(template: dict) -> None:
        for policy in template["Resources"]["TaskExecutionRole"]["Properties"]["Policies"]:
            statements = policy["PolicyDocument"]["Statement"]
            [logs] = [statement for statement in statements if statement.get("Sid") == "WriteTaskLogs"]
            if actions:
                logs["Action"] = list(actions)
            else:
                statements.remove(logs)
    return edit


def _task_logs_to_a_group_nobody_made(template: dict) -> None:
    # The execution role writes logs anywhere, as AmazonECSTaskExecutionRolePolicy does: only the group is missing.
    for policy in template["Resources"]["TaskExecutionRole"]["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            if statement.get("Sid") == "WriteTaskLogs":
                statement["Resource"] = "*"
    container = template["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    container["LogConfiguration"]["Options"]["awslogs-group"] = {"Fn::Sub": "/ecs/${NamePrefix}-task"}



def _task_log_stream_prefix_with_a_colon(template: dict) -> None:
    # The stream is PREFIX/CONTAINER/TASK_ID: CreateLogStream's logStreamName pattern is [^:*]* (botocore's
    # model); cfn-lint cannot see it (LogConfiguration Options is a free map).
    container = template["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    container["LogConfiguration"]["Options"]["awslogs-stream-prefix"] = "smdemo:task"


FARGATE_FAULTS = [
    Fault("ecs-sh-unquoted",
          "startprocesses.sh writes values between bare single quotes, as the original did (its bug #1)",
          edit_docker_file("startprocesses.sh", QUOTING_LOOP, ORIGINAL_QUOTING),
          ("test_metacharacter_secret_arrives_byte_for_byte",)),
    Fault("task-secret-is-another-secret",
          "the task definition's TASKDEF_SECRET points at another secret",
          edit_template(_task_secret_from({"Ref": "ContainerUserSecret"})),
          ("test_task_definition_revision_names_the_secret", "test_login_shell_has_taskdef_secret",
           "test_taskdef_secret_seen_over_the_bastions_ssh_is_the_secret")),
    Fault("task-secret-is-one-key",
          "the task definition's TASKDEF_SECRET names only the password key, not the whole secret",
          edit_template(_task_secret_from({"Fn::Sub": "${DBSecret}:password::"})),
          ("test_task_definition_revision_names_the_secret",
           "test_running_task_keeps_old_value_and_new_task_gets_new")),
    Fault("execution-role-trusts-ecs",
          "the task execution role trusts ecs.amazonaws.com, not ecs-tasks.amazonaws.com: \"ECS was unable to "
          "assume the role ...\", the task never starts",
          edit_template(_role_trusting("TaskExecutionRole", "ecs.amazonaws.com")),
          ("test_task_reaches_running",)),
    Fault("execution-role-cannot-write-logs",
          "the task execution role has no logs:CreateLogStream/PutLogEvents, so the awslogs driver cannot create "
          "the task's stream and the task never starts (ResourceInitializationError: failed to validate logger args)",
          edit_template(_execution_role_log_actions()),
          ("test_task_reaches_running",)),
    Fault("execution-role-cannot-put-log-events",
          "the task execution role may create the task's log stream but not PutLogEvents: the task runs, its "
          "output (the host keys its sshd publishes) never reaches CloudWatch Logs",
          edit_template(_execution_role_log_actions("logs:CreateLogStream")),
          ("test_login_shell_has_taskdef_secret",)),
    Fault("task-log-stream-prefix-with-a-colon",
          "the task definition's awslogs-stream-prefix has a colon: CloudWatch Logs refuses the stream name "
          "(InvalidParameterException: ... 'logStreamName' failed to satisfy constraint: Member must satisfy "
          "regular expression pattern: [^:*]*), the task never starts",
          edit_template(_task_log_stream_prefix_with_a_colon),
          ("test_task_reaches_running",)),
    Fault("task-logs-to-a-missing-group",
          "the task definition's awslogs-group names a log group the stack does not create (its execution role "
          "may write logs anywhere): \"The specified log group does not exist.\", the task never starts",
          edit_template(_task_logs_to_a_group_nobody_made),
          ("test_task_reaches_running",)),
    Fault("execution-role-cannot-read-secret",
          "the task execution role is not allowed GetSecretValue on the database secret",
          edit_template(_execution_role_without_db_secret),
          ("test_task_reaches_running",)),
    Fault("ecs-sh-not-readable",
          "startprocesses.sh leaves /etc/profile.d/ecs.sh readable by root only",
          edit_docker_file("startprocesses.sh", 'chmod 0644 "${tmp}"', 'chmod 0600 "${tmp}"'),
          ("test_login_shell_has_taskdef_secret", "test_attendee_sshes_from_the_bastion_into_the_task")),
    Fault("newway-ignores-taskdef-secret",
          "mysql.newway.sh ignores TASKDEF_SECRET and wants a secret name",
          edit_docker_file("mysql.newway.sh", 'secret="${TASKDEF_SECRET:-}"', 'secret=""'),
          ("test_newway_script_reads_bookinfo", "test_newway_script_in_the_task_over_the_bastions_ssh_reads_bookinfo")),
    Fault("newway-password-on-the-command-line",
          "mysql.newway.sh passes the password on mysql's command line, where ps shows it",
          edit_docker_file("mysql.newway.sh", 'MYSQL_PWD="$(field password)" exec mysql --host="${host}"',
                           'exec mysql --password="$(field password)" --host="${host}"'),
          ("test_no_secret_in_the_container_process_list",)),
    Fault("host-keys-baked-into-the-image",
          "the Dockerfile makes the SSH host keys at build time, so every task shares them",
          edit_docker_file("Dockerfile", "RUN /opt/smdemo/image-setup.sh\n",
                           "RUN /opt/smdemo/image-setup.sh\nRUN ssh-keygen -A\n"),
          ("test_no_secret_or_key_in_any_image_layer", "test_each_task_has_its_own_host_keys")),
    Fault("tasks-without-a-route-out",
          "the subnets' route table has no 0.0.0.0/0 route to the internet gateway (and there is no NAT or ECR "
          "endpoint), so a task cannot pull its image",
          edit_template(_no_route_out),
          ("test_task_reaches_running",)),
    Fault("bastion-not-admitted-to-the-task",
          "the tasks' security group admits SSH from the VPC's default group, not from the bastion's",
          edit_template(_bastion_not_admitted_to_the_task),
          ("test_login_shell_has_taskdef_secret", "test_attendee_sshes_from_the_bastion_into_the_task")),
    Fault("bastion-without-docker",
          "the bastion's user data does not install Docker (AL2023 has none), so ./dockerbuild.sh cannot run",
          edit_template(_bastion_user_data_without("systemctl enable --now docker", "usermod -aG docker"),
                        _bastion_user_data_replacing("dnf install -y mariadb105 jq docker",
                                                     "dnf install -y mariadb105 jq")),
          ("test_image_is_built_and_pushed_on_the_bastion",)),
    Fault("ec2-user-not-in-the-docker-group",
          "Docker is installed and running but ec2-user is not in the docker group: permission denied on its socket",
          edit_template(_bastion_user_data_without("usermod -aG docker")),
          ("test_image_is_built_and_pushed_on_the_bastion",)),
    Fault("bastion-role-cannot-push",
          "the bastion's role may not log in to ECR or push, so ./dockertagandpush.sh fails",
          edit_template(_bastion_role_without("push-workshop-image")),
          ("test_image_is_built_and_pushed_on_the_bastion",)),
    Fault("bastion-role-cannot-read-the-container-password",
          "the bastion's role may not read the container user's secret, so the guide's ssh into the task has no password",
          edit_template(_bastion_role_without("container-password")),
          ("test_attendee_sshes_from_the_bastion_into_the_task",)),
    Fault("fargate-size-not-offered",
          "the task definition asks for 256 CPU units with 4096 MiB, a size Fargate does not offer "
          "(ECS: No Fargate configuration exists for given values)",
          edit_template(_fargate_size_not_offered),
          ("test_task_definition_revision_names_the_secret",)),
    Fault("rotation-keeps-password",
          "createSecret copies the current password, so a rotation changes nothing",
          next(fault.apply for fault in FAULTS if fault.name == "create-keeps-password"),
          ("test_oldway_script_fails_after_rotation", "test_running_task_keeps_old_value_and_new_task_gets_new")),
    SECRET_KEY_NOT_FOR_THE_TASK_EXECUTION_ROLE,
]


# --- the audit phase: the trail, the grants, the task definition, the rotation's principals

def _rotation_once_a_year(template: dict) -> None:
    template["Resources"]["RotationSchedule"]["Properties"]["RotationRules"] = {"AutomaticallyAfterDays": 365}


def _trail_not_logging(template: dict) -> None:
    template["Resources"]["Trail"]["Properties"]["IsLogging"] = False


def _task_role_reads_every_secret(template: dict) -> None:
    for policy in template["Resources"]["TaskRole"]["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            statement["Resource"] = "*"


def _task_role_on_secret_name_prefix(template: dict) -> None:
    for policy in template["Resources"]["TaskRole"]["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            statement["Resource"] = SECRET_NAME_PREFIX


def _password_in_task_environment(template: dict) -> None:
    container = template["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    container["Environment"].append(
        {"Name": "TASKDEF_DBPASSWORD", "Value": {"Fn::Sub": "{{resolve:secretsmanager:${DBSecret}:SecretString:password}}"}})


def _task_without_db_secret(template: dict) -> None:
    container = template["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    container["Secrets"] = [entry for entry in container["Secrets"] if entry["Name"] != "TASKDEF_SECRET"]


def _database_publicly_accessible(template: dict) -> None:
    template["Resources"]["DBInstance"]["Properties"]["PubliclyAccessible"] = True


def _ssh_open_to_the_world(template: dict) -> None:
    template["Resources"]["BastionSSHFromAdmin"]["Properties"]["CidrIp"] = "0.0.0.0/0"


def _database_port_open_to_the_world(template: dict) -> None:
    template["Resources"]["DBSG"]["Properties"]["SecurityGroupIngress"][0]["CidrIp"] = "0.0.0.0/0"


def _task_ssh_from_the_whole_vpc(template: dict) -> None:
    rules = template["Resources"]["TaskSG"]["Properties"]["SecurityGroupIngress"]
    rules.append({"Description": "SSH from the VPC", "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                  "CidrIp": "10.200.0.0/16"})


def _container_password_as_parameter(template: dict) -> None:
    template["Parameters"]["ContainerUserPassword"] = {"Type": "String", "Default": "Smdemo-Container-Passw0rd-2026"}
    properties = template["Resources"]["ContainerUserSecret"]["Properties"]
    del properties["GenerateSecretString"]
    properties["SecretString"] = {"Fn::Sub": '{"username": "ec2-user", "password": "${ContainerUserPassword}"}'}


def _trail_writes_only(template: dict) -> None:
    template["Resources"]["Trail"]["Properties"]["EventSelectors"] = [
        {"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]


def _trail_bucket_retained(template: dict) -> None:
    template["Resources"]["TrailBucket"]["DeletionPolicy"] = "Retain"


def _database_deletion_protected(template: dict) -> None:
    template["Resources"]["DBInstance"]["Properties"]["DeletionProtection"] = True


# Not a check's fault: the teardown's. The run must fail because the stack leaves the bucket behind.
TEARDOWN_FAULT = Fault("trail-bucket-retained",
                       "the trail bucket has DeletionPolicy Retain, so deleting the stack leaves it behind",
                       edit_template(_trail_bucket_retained), ())
# The teardown's too: RDS refuses to delete the database, so the stack's deletion ends DELETE_FAILED.
DELETION_PROTECTED_FAULT = Fault("database-deletion-protected",
                                 "the DB instance has DeletionProtection true, so RDS refuses to delete it and the "
                                 "stack's deletion fails (in AWS the database stays, billed)",
                                 edit_template(_database_deletion_protected), ())


# Valid variants of the workshop AWS accepts: each must stay READY offline.
def _with_parameter_group(template: dict) -> None:
    resources = template["Resources"]
    resources["DBParameterGroup"] = {"Type": "AWS::RDS::DBParameterGroup", "Properties": {
        "Family": "mysql8.0", "Description": "Workshop database settings", "Parameters": {"max_connections": "200"},
        "Tags": [{"Key": "Project", "Value": {"Ref": "ProjectTag"}}]}}
    resources["DBInstance"]["Properties"]["DBParameterGroupName"] = {"Ref": "DBParameterGroup"}
    # checkov reads a custom group for require_secure_transport; the lab's scripts connect as the guide's do,
    # and the local AWS does not apply a group's parameters: the author skips it with the reason.
    resources["DBInstance"]["Metadata"]["checkov"]["skip"].append({
        "id": "CKV2_AWS_69", "comment": "The group only raises max_connections; TLS is required per user (the TLS "
                                        "lab's demouser), not for the whole server, as with the default group."})


def _rotation_every_four_hours(template: dict) -> None:
    template["Resources"]["RotationSchedule"]["Properties"]["RotationRules"] = {"ScheduleExpression": "rate(4 hours)"}


# Our own provider in the cfn-response style (CloudFormation user guide, "cfn-response module"): the zones that
# offer Secrets Manager's interface endpoint, as the original workshop chose its subnets' zones.
ENDPOINT_ZONES_PROVIDER = """\
import boto3
import cfnresponse


def handler(event, context):
    if event["RequestType"] == "Delete":
        cfnresponse.send(event, context, cfnresponse.SUCCESS, {}, event["PhysicalResourceId"])
        return
    service = event["ResourceProperties"]["ServiceName"]
    try:
        details = boto3.client("ec2").describe_vpc_endpoint_services(ServiceNames=[service])["ServiceDetails"]
        zones = sorted(details[0]["AvailabilityZones"])
    except Exception as error:
        cfnresponse.send(event, context, cfnresponse.FAILED, {}, reason=str(error))
        return
    cfnresponse.send(event, context, cfnresponse.SUCCESS, {"Zones": ",".join(zones)}, "zones-" + service)
"""


def _subnets_in_endpoint_zones(template: dict) -> None:
    resources = template["Resources"]
    tags = [{"Key": "Project", "Value": {"Ref": "ProjectTag"}}]
    resources["EndpointZonesRole"] = {"Type": "AWS::IAM::Role", "Properties": {
        "Description": "Execution role of the endpoint zones lookup",
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
        "Policies": [{"PolicyName": "lookup", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "ec2:DescribeVpcEndpointServices", "Resource": "*"},
            {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
                                     "/aws/lambda/*"}}]}}],
        "Tags": tags}}
    skip = [{"id": "CKV_AWS_116", "comment": "A failed lookup answers FAILED, so its custom resource fails and "
                                               "CloudFormation reports why; nothing is left for a dead-letter queue."},
            {"id": "CKV_AWS_115", "comment": "CloudFormation invokes it once per stack operation; a reservation would "
                                               "take from the account's small unreserved pool."},
            {"id": "CKV_AWS_117", "comment": "Calls EC2's public API only; it reaches nothing in the VPC."},
            {"id": "CKV_AWS_173", "comment": "The function has no environment variables: nothing to encrypt."}]
    resources["EndpointZonesFunction"] = {"Type": "AWS::Lambda::Function", "Metadata": {"checkov": {"skip": skip}},
                                          "Properties": {
        "Description": "The zones that offer an interface endpoint service", "Runtime": "python3.12",
        "Handler": "index.handler", "Timeout": 30, "Role": {"Fn::GetAtt": ["EndpointZonesRole", "Arn"]},
        "Code": {"ZipFile": ENDPOINT_ZONES_PROVIDER}, "Tags": tags}}
    resources["EndpointZones"] = {"Type": "Custom::EndpointZones", "Properties": {
        "ServiceToken": {"Fn::GetAtt": ["EndpointZonesFunction", "Arn"]},
        "ServiceName": {"Fn::Sub": "com.amazonaws.${AWS::Region}.secretsmanager"}}}
    for index, subnet in enumerate(("Subnet1", "Subnet2")):
        resources[subnet]["Properties"]["AvailabilityZone"] = {
            "Fn::Select": [index, {"Fn::Split": [",", {"Fn::GetAtt": ["EndpointZones", "Zones"]}]}]}


@dataclass(frozen=True)
class Variant:
    name: str
    changes: str  # what the workshop author did differently, which AWS accepts
    apply: Callable[[Path], None]
    phases: tuple[str, ...]  # the Template phase, and the deployed phase that uses the change
    checks: tuple[str, ...] = ()  # the checks to run, as -k names them (all of the phases' when empty)


ACCEPTED_VARIANTS = [
    Variant("db-parameter-group", "the DB instance uses its own DB parameter group (mysql8.0, max_connections)",
            edit_template(_with_parameter_group), ("tests/template", "tests/rds")),
    Variant("rotation-every-four-hours", "the rotation schedule is rate(4 hours), Secrets Manager's shortest",
            edit_template(_rotation_every_four_hours), ("tests/template", "tests/audit"),
            ("test_template_phase", "test_secret_controls_are_met[SecretsManager.1]")),
    Variant("subnets-in-endpoint-zones",
            "a Lambda-backed custom resource (cfn-response) picks the subnets' zones among those offering Secrets "
            "Manager's endpoint, as the original workshop did",
            edit_template(_subnets_in_endpoint_zones), ("tests/template", "tests/rds"),
            ("test_template_phase", "test_credentials_from_secret_read_bookinfo")),
]

AUDIT_FAULTS = [
    Fault("newway-traces-its-commands",
          "mysql.newway.sh runs with `set -x`, so its trace prints the password where it runs (and Run Command keeps it)",
          edit_docker_file("mysql.newway.sh", "set -euo pipefail", "set -euxo pipefail"),
          ("test_no_secret_value_in_the_bastions_run_command_history",)),
    Fault("rotation-once-a-year",
          "the rotation schedule rotates every 365 days",
          edit_template(_rotation_once_a_year),
          ("test_secret_controls_are_met[SecretsManager.1]",)),
    Fault("trail-not-logging",
          "the trail is created with IsLogging false",
          edit_template(_trail_not_logging),
          ("test_trail_controls_are_met[cloudtrail-enabled]",)),
    Fault("task-role-reads-every-secret",
          "the task role's policy reads Resource '*'",
          edit_template(_task_role_reads_every_secret),
          ("test_secret_controls_are_met[least-privilege]",)),
    Fault("task-role-on-secret-name-prefix",
          "the task role's policy names `...:secret:<secret name>*`, which also matches the stack's container "
          "user secret and any secret named like the workshop's",
          edit_template(_task_role_on_secret_name_prefix),
          ("test_secret_controls_are_met[least-privilege]",)),
    Fault("password-in-task-environment",
          "the task definition passes the password in its plain environment",
          edit_template(_password_in_task_environment),
          ("test_secret_controls_are_met[ECS.8]", "test_no_event_contains_a_secret_value")),
    Fault("execution-role-never-reads-secret",
          "the task definition has no TASKDEF_SECRET, so the execution role never reads the secret",
          edit_template(_task_without_db_secret),
          ("test_execution_role_read_the_secret_when_the_task_started",)),
    Fault("rotation-never-moves-labels",
          "the rotation function never calls UpdateSecretVersionStage",
          next(fault.apply for fault in FAULTS if fault.name == "finish-leaves-current"),
          ("test_rotation_is_recorded_with_its_principals", "test_secret_controls_are_met[SecretsManager.2]")),
    Fault("database-publicly-accessible",
          "the DB instance is publicly accessible",
          edit_template(_database_publicly_accessible),
          ("test_network_controls_are_met[RDS.2]",)),
    Fault("ssh-open-to-the-world",
          "the bastion's security group admits 0.0.0.0/0 to port 22",
          edit_template(_ssh_open_to_the_world),
          ("test_network_controls_are_met[EC2.13]",
           "test_network_controls_are_met[EC2.19]",
           "test_network_controls_are_met[ssh-paths]")),
    Fault("database-port-open-to-the-world",
          "the database's security group admits 0.0.0.0/0 to 3306",
          edit_template(_database_port_open_to_the_world),
          ("test_network_controls_are_met[EC2.19]",)),
    Fault("rotation-function-logs-the-secret",
          "the rotation function logs the new secret value it made",
          append_to_rotation_function('''
              _correct_create = create_secret
              def create_secret(client, arn, token):
                  _correct_create(client, arn, token)
                  made = client.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
                  logger.info("createSecret: the new value is %s", made["SecretString"])
          '''),
          ("test_no_secret_value_in_the_function_or_task_logs",)),
    Fault("container-password-as-parameter",
          "the container user's password is a template parameter without NoEcho",
          edit_template(_container_password_as_parameter),
          ("test_no_secret_value_in_the_stack_parameters_outputs_or_events",)),
    Fault("trail-writes-only",
          "the trail's event selectors leave out read events, so GetSecretValue never reaches its bucket",
          edit_template(_trail_writes_only),
          ("test_trail_controls_are_met[trail-read-events]", "test_trail_bucket_holds_the_get_secret_value_records")),
    Fault("rotation-role-cannot-write-logs",
          "the rotation function's role has no logs:CreateLogStream/PutLogEvents: Lambda writes nothing of the "
          "function's output, so nothing shows that no secret value is logged",
          edit_template(_rotation_role_without_own_log_group),
          ("test_no_secret_value_in_the_function_or_task_logs",)),
    Fault("task-ssh-from-the-whole-vpc",
          "the tasks' security group admits SSH from the whole VPC, not only from the bastion",
          edit_template(_task_ssh_from_the_whole_vpc),
          ("test_network_controls_are_met[ssh-paths]",)),
]


# --- the TLS user phase (lab C): the lab's SQL, demouser's role, its rotation

def edit_lab_sql(old: str, new: str) -> Callable[[Path], None]:
    def apply(workshop: Path) -> None:
        path = workshop / "labs" / "demouser.sql"
        text = path.read_text()
        assert old in text, f"{old!r} not in {path}"
        path.write_text(text.replace(old, new))
    return apply


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


# --- the App phase (lab B): the web app's secret reading, and the rotation it must survive
APP_FAULTS = [
    Fault("app-cache-never-refreshes",
          "the caching variant never reads the secret again when the database refuses the cached password",
          edit_workshop_file("app/web_app.py", "self.cache.refresh_secret_now(self.secret_id)", "pass"),
          ("test_secret_reading_app_stays_connected_through_two_rotations",)),
    Fault("app-get-secret-keeps-its-first-read",
          "the get_secret variant reads the secret on every request but keeps using what it read first",
          edit_workshop_file("app/web_app.py", "check(get_secret(self.secret_id, self.client))",
                             "check(self.__dict__.setdefault('first', get_secret(self.secret_id, self.client)))"),
          ("test_secret_reading_app_stays_connected_through_two_rotations",)),
    Fault("app-reader-swallows-errors",
          "the secret reader returns None on an error it does not handle (AccessDenied), as the lab's original did",
          edit_workshop_file("app/secret_reader.py", "        raise SecretReadError(f\"secret {secret_id}: {details",
                             "        return None\n        raise SecretReadError(f\"secret {secret_id}: {details"),
          ("test_secret_reader_raises_on_access_denied",)),
    Fault("rotation-without-the-previous-fallback",
          "setSecret logs in with AWSCURRENT only, so a secret changed without the database can never be repaired",
          edit_workshop_file("rotation/rotation_function.py", 'for stage in ("AWSCURRENT", "AWSPREVIOUS"):',
                             'for stage in ("AWSCURRENT",):'),
          ("test_secret_changed_without_the_database_disconnects_until_a_rotation",)),
    Fault("rotation-keeps-the-apps-password",
          "createSecret copies the current password, so the hard-coded app never notices a rotation",
          next(fault.apply for fault in FAULTS if fault.name == "create-keeps-password"),
          ("test_hardcoded_app_is_disconnected_after_rotation",)),
]

# Not a fault: the get_secret variant as the lab has it, only slower (1.5 s between reading the secret and
# logging in, as one request can take on a loaded machine). The App phase must pass it: what a user saw
# before a change is the answers that came before it, not a request in flight when the change began.
SLOW_APP = Fault("app-get-secret-answers-slowly",
                 "nothing: the get_secret variant takes 1.5 s between reading the secret and logging in",
                 edit_workshop_file("app/web_app.py", "check(get_secret(self.secret_id, self.client))",
                                    "check((lambda read: __import__('time').sleep(1.5) or read)"
                                    "(get_secret(self.secret_id, self.client)))"),
                 ())

# --- the Template phase: the workshop's files read before anything is deployed, one tool each
CFN_LINT_CHECK = "test_cfnlint_finds_no_error_in_the_template"
CHECKOV_CHECK = "test_checkov_finds_nothing_the_template_does_not_skip_with_a_reason"
CONTROLS_CHECK = "test_template_meets_the_reviewers_controls"
SHELLCHECK_CHECK = "test_shellcheck_finds_no_error_in_the_shell_scripts"
HADOLINT_CHECK = "test_hadolint_finds_no_error_in_the_dockerfile"
PACKAGE_CHECK = "test_rotation_function_package_runs_on_its_declared_runtime"


def _task_with_too_little_cpu_for_its_memory(template: dict) -> None:
    template["Resources"]["TaskDefinition"]["Properties"]["Cpu"] = "256"  # Memory stays 4096: Fargate refuses it


def _database_storage_not_encrypted(template: dict) -> None:
    template["Resources"]["DBInstance"]["Properties"]["StorageEncrypted"] = False


TEMPLATE_FAULTS = [
    Fault("task-cpu-memory-not-a-fargate-size",
          "the task definition asks 256 CPU units with 4096 MiB, a combination Fargate refuses (cfn-lint E3047)",
          edit_template(_task_with_too_little_cpu_for_its_memory), (CFN_LINT_CHECK,)),
    Fault("database-storage-not-encrypted",
          "the database's storage is not encrypted (checkov CKV_AWS_16)",
          edit_template(_database_storage_not_encrypted), (CHECKOV_CHECK,)),
    Fault("dockerbuild-unquoted-arguments",
          "dockerbuild.sh passes its extra arguments unquoted, re-split by the shell (shellcheck SC2068)",
          edit_docker_file("dockerbuild.sh", 'docker build --pull --tag "${image}" "${here}"',
                           'docker build --pull --tag "${image}" "${here}" ${@:2}'),
          (SHELLCHECK_CHECK,)),
    Fault("dockerfile-adds-instead-of-copying",
          "the Dockerfile ADDs a local file where COPY is meant (hadolint DL3020)",
          edit_docker_file("Dockerfile", "COPY image-setup.sh", "ADD image-setup.sh"),
          (HADOLINT_CHECK,)),
    Fault("rotation-function-imports-an-unbundled-module",
          "the rotation function imports requests, which neither its package nor its runtime has: every rotation "
          "would fail with Runtime.ImportModuleError",
          append_to_rotation_function('''
              def notify(message):
                  import requests
                  requests.post("https://hooks.example.com/rotation", json={"text": message}, timeout=5)
          '''),
          (PACKAGE_CHECK,)),
    Fault("rotation-password-may-hold-a-quote",
          "the rotation function's EXCLUDE_CHARACTERS forgets the quotes: a rotated password may break the scripts",
          edit_template(lambda template: template["Resources"]["RotationFunction"]["Properties"]["Environment"]
                        ["Variables"].update(EXCLUDE_CHARACTERS=" /@\\`")),
          (CONTROLS_CHECK,)),
]
# Faults of the deployed phases the Template phase catches too, before anything is deployed.
CAUGHT_BEFORE_DEPLOYING = {
    "reader-policy-on-secret-name-prefix": (CONTROLS_CHECK,),
    "rotation-once-a-year": (CONTROLS_CHECK,),
    "password-in-task-environment": (CONTROLS_CHECK,),
    "database-publicly-accessible": (CONTROLS_CHECK, CHECKOV_CHECK),
    # cfn-lint E2531 (creation disabled: AWS refuses it), checkov CKV_AWS_363 (a deprecated runtime)
    "rotation-function-on-a-blocked-runtime": (CFN_LINT_CHECK, CHECKOV_CHECK),
}
TEMPLATE_FAULTS += [Fault(fault.name, fault.breaks, fault.apply, CAUGHT_BEFORE_DEPLOYING[fault.name])
                    for fault in [*FAULTS, *FARGATE_FAULTS, *AUDIT_FAULTS] if fault.name in CAUGHT_BEFORE_DEPLOYING]
