"""The RDS phase's faults: the template, the rotation function and the secret's key."""
from __future__ import annotations

from typing import Callable
from tests.support.faults.base import BLOCKED_RUNTIME, Fault, append_to_rotation_function, edit_template

def _password_not_from_secret(template: dict) -> None:
    template["Resources"]["DBInstance"]["Properties"]["MasterUserPassword"] = "NotTheSecretsPassw0rd"


def _secret_not_attached(template: dict) -> None:
    resources = template["Resources"]
    del resources["SecretAttachment"]
    schedule = resources["RotationSchedule"]
    depends = schedule.get("DependsOn", [])
    schedule["DependsOn"] = [d for d in ([depends] if isinstance(depends, str) else depends) if d != "SecretAttachment"]


SECRET_NAME_PREFIX = {"Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:"
                                 "${SecretName}*"}


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
    "role, so mysql.newway.sh is refused where attendees run it ('Access to KMS is not allowed')",
    edit_template(_secret_with_customer_managed_key, _secret_key_usable_by_every_reader_but("BastionRole")),
    ("test_newway_script_on_the_bastion_reads_bookinfo",
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


RDS_FAULTS = [
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
          ("test_hardcoded_credentials_read_bookinfo_before_rotation",),
          waits=60),  # the rotation function's Timeout: it cannot reach Secrets Manager
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
          ("test_hardcoded_credentials_read_bookinfo_before_rotation", "test_rotation_completes"),
          waits=60),  # the rotation function's Timeout
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
