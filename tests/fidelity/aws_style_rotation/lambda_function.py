"""A single-user MySQL rotation function written the way AWS's published ones are
(aws-samples/aws-secrets-manager-rotation-lambdas, SecretsManagerRDSMySQLRotationSingleUser):
what they expect of the runtime is what this one expects, so it shows that such code works offline
unchanged. Written for this project's fidelity tests; not the workshop's function.

Its expectations: SECRETS_MANAGER_ENDPOINT names the service's HTTPS endpoint; GetRandomPassword
makes the password (with EXCLUDE_CHARACTERS); TLS first, verified against Amazon Linux's CA bundle
(/etc/pki/tls/cert.pem), falling back to plain text only when TLS fails with a MySQL error;
its engine branching is AWS's: by VERSION(), `SET PASSWORD = %s` where it starts with "8" (MySQL 8),
`SET PASSWORD = PASSWORD(%s)` otherwise (MySQL 5.7, MariaDB).
"""
import json
import logging
import os

import boto3
import pymysql

logger = logging.getLogger()
logger.setLevel(logging.INFO)

CA_BUNDLE = "/etc/pki/tls/cert.pem"


def lambda_handler(event, context):
    arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    service_client = boto3.client("secretsmanager", endpoint_url=os.environ["SECRETS_MANAGER_ENDPOINT"])
    metadata = service_client.describe_secret(SecretId=arn)
    if "RotationEnabled" in metadata and not metadata["RotationEnabled"]:
        raise ValueError("Secret %s is not enabled for rotation" % arn)
    versions = metadata["VersionIdsToStages"]
    if token not in versions:
        raise ValueError("Secret version %s has no stage for rotation of secret %s." % (token, arn))
    if "AWSCURRENT" in versions[token]:
        logger.info("Secret version %s already set as AWSCURRENT for secret %s." % (token, arn))
        return
    if "AWSPENDING" not in versions[token]:
        raise ValueError("Secret version %s not set as AWSPENDING for rotation of secret %s." % (token, arn))
    if step == "createSecret":
        create_secret(service_client, arn, token)
    elif step == "setSecret":
        set_secret(service_client, arn, token)
    elif step == "testSecret":
        test_secret(service_client, arn, token)
    elif step == "finishSecret":
        finish_secret(service_client, arn, token)
    else:
        raise ValueError("Invalid step parameter %s for secret %s" % (step, arn))


def create_secret(service_client, arn, token):
    current_dict = get_secret_dict(service_client, arn, "AWSCURRENT")
    try:
        get_secret_dict(service_client, arn, "AWSPENDING", token)
        logger.info("createSecret: Successfully retrieved secret for %s." % arn)
    except service_client.exceptions.ResourceNotFoundException:
        exclude = os.environ.get("EXCLUDE_CHARACTERS", "/@\"'\\")
        current_dict["password"] = service_client.get_random_password(ExcludeCharacters=exclude)["RandomPassword"]
        service_client.put_secret_value(SecretId=arn, ClientRequestToken=token,
                                         SecretString=json.dumps(current_dict), VersionStages=["AWSPENDING"])
        logger.info("createSecret: Successfully put secret for ARN %s and version %s." % (arn, token))


def set_secret(service_client, arn, token):
    pending_dict = get_secret_dict(service_client, arn, "AWSPENDING", token)
    conn = get_connection(pending_dict)
    if conn:
        conn.close()
        logger.info("setSecret: AWSPENDING secret is already set as password in MySQL DB for secret arn %s." % arn)
        return
    current_dict = get_secret_dict(service_client, arn, "AWSCURRENT")
    conn = get_connection(current_dict)
    if not conn:
        raise ValueError("Unable to log into database with current secret of secret arn %s" % arn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT VERSION()")
            cur.execute("SET PASSWORD = " + password_option(cur.fetchone()[0]), pending_dict["password"])
            conn.commit()
            logger.info("setSecret: Successfully set password for user %s in MySQL DB for secret arn %s."
                        % (pending_dict["username"], arn))
    finally:
        conn.close()


def password_option(version):
    """What follows SET PASSWORD =, by the server's VERSION(): MySQL 8 takes the password itself (it has no
    PASSWORD() function); anything else (MySQL 5.7, MariaDB) is given PASSWORD(...)."""
    return "%s" if version.startswith("8") else "PASSWORD(%s)"


def test_secret(service_client, arn, token):
    conn = get_connection(get_secret_dict(service_client, arn, "AWSPENDING", token))
    if not conn:
        raise ValueError("Unable to log into database with pending secret of secret ARN %s" % arn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT NOW()")
            conn.commit()
    finally:
        conn.close()
    logger.info("testSecret: Successfully signed into MySQL DB with AWSPENDING secret in %s." % arn)


def finish_secret(service_client, arn, token):
    metadata = service_client.describe_secret(SecretId=arn)
    current_version = None
    for version in metadata["VersionIdsToStages"]:
        if "AWSCURRENT" in metadata["VersionIdsToStages"][version]:
            if version == token:
                logger.info("finishSecret: Version %s already marked as AWSCURRENT for %s" % (version, arn))
                return
            current_version = version
            break
    service_client.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=token,
                                               RemoveFromVersionId=current_version)
    logger.info("finishSecret: Successfully set AWSCURRENT stage to version %s for secret %s." % (token, arn))


def get_connection(secret_dict):
    port = int(secret_dict["port"]) if "port" in secret_dict else 3306
    dbname = secret_dict["dbname"] if "dbname" in secret_dict else None
    use_ssl, fall_back = get_ssl_config(secret_dict)
    conn = connect_and_authenticate(secret_dict, port, dbname, use_ssl)
    if conn or not fall_back:
        return conn
    return connect_and_authenticate(secret_dict, port, dbname, False)


def get_ssl_config(secret_dict):
    if "ssl" not in secret_dict:
        return True, True
    if isinstance(secret_dict["ssl"], bool):
        return secret_dict["ssl"], False
    if isinstance(secret_dict["ssl"], str):
        return secret_dict["ssl"].lower() == "true", False
    return True, True


def connect_and_authenticate(secret_dict, port, dbname, use_ssl):
    ssl = {"ca": CA_BUNDLE} if use_ssl else None
    try:
        conn = pymysql.connect(host=secret_dict["host"], user=secret_dict["username"],
                               password=secret_dict["password"], port=port, database=dbname,
                               connect_timeout=5, ssl=ssl)
        logger.info("Successfully established %s connection as user '%s' with host: '%s'"
                    % ("SSL/TLS" if use_ssl else "non SSL/TLS", secret_dict["username"], secret_dict["host"]))
        return conn
    except pymysql.OperationalError as e:
        if "certificate verify failed: IP address mismatch" in e.args[1]:
            logger.error("Hostname verification failed when estlablishing SSL/TLS Handshake with host: %s"
                         % secret_dict["host"])
        return None


def get_secret_dict(service_client, arn, stage, token=None):
    required_fields = ["host", "username", "password", "engine"]
    if token:
        secret = service_client.get_secret_value(SecretId=arn, VersionId=token, VersionStage=stage)
    else:
        secret = service_client.get_secret_value(SecretId=arn, VersionStage=stage)
    secret_dict = json.loads(secret["SecretString"])
    for field in required_fields:
        if field not in secret_dict:
            raise KeyError("%s key is missing from secret JSON" % field)
    if secret_dict["engine"] != "mysql":
        raise KeyError("Database engine must be set to 'mysql' in order to use this rotation lambda")
    return secret_dict
