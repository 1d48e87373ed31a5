"""The project's extensions to moto: each module reproduces one AWS behaviour the suite relies on.

Each is installed through moto's own extension points (CloudFormationModel subclasses,
backend methods, the response classes' authorisation hook) before the server starts.
"""
import os

from localaws import removals
from localaws.ext import (
    cfn_cloudtrail,
    cfn_create_failures,
    cfn_custom_resources,
    cfn_resource_events,
    cfn_vpc_endpoints,
    cfn_resource_types,
    cloudtrail_bucket_policy,
    cfn_dropped_properties,
    cfn_dynamic_refs,
    cfn_sub_attributes,
    cfn_route_table_associations,
    cfn_s3_bucket_policy,
    cfn_security_group_egress,
    cfn_ecs,
    cfn_key_pair,
    cfn_kms_key,
    cfn_not_modelled,
    cfn_property_validation,
    cfn_secretsmanager,
    cfn_stack_deletion,
    cfn_stack_tags,
    cfn_subnet_public_ip,
    cfn_template_yaml,
    cloudtrail_events,
    ec2_hosts,
    ec2_images,
    ec2_resource_ids,
    ecr_blobs,
    ecr_layer_downloads,
    ecr_login_tokens,
    ecs_tasks,
    host_network_wiring,
    iam_enforcement,
    kms_secret_encryption,
    json_answers,
    lambda_execution_role,
    lambda_runtime,
    lambda_runtime_lifecycle,
    moto_module_names,
    rds_answers,
    registrations,
    request_validation,
    rds_databases,
    response_shapes,
    s3_bucket_policy_conditions,
    secrets_answers,
    secrets_deletion,
    secrets_rotation,
    secrets_staging_labels,
    service_rules,
    ssm_commands,
    ssm_sessions,
)

MODULES = (cfn_template_yaml,  # moto parses templates with libyaml (CPU only)
           ec2_resource_ids,  # EC2 ids with one random call each (CPU only)
           moto_module_names,  # moto's package list read once (CPU only)
           secrets_rotation, secrets_staging_labels, secrets_answers, secrets_deletion, cfn_dynamic_refs,
           cfn_sub_attributes,  # after cfn_dynamic_refs: both wrap clean_json
           cfn_secretsmanager, cfn_cloudtrail, cfn_stack_deletion,
           cfn_stack_tags, cfn_create_failures,
           cfn_resource_events,  # after cfn_create_failures: it wraps the same two functions
           cfn_vpc_endpoints,
           cfn_route_table_associations, cfn_subnet_public_ip, cfn_security_group_egress, cfn_key_pair, cfn_kms_key,
           cfn_s3_bucket_policy, cloudtrail_bucket_policy, s3_bucket_policy_conditions,
           lambda_runtime, lambda_runtime_lifecycle,
           lambda_execution_role,  # after lambda_runtime_lifecycle, whose checks it wraps
           rds_databases, rds_answers, registrations, cfn_ecs, ecr_blobs,
           cfn_resource_types,  # after rds_databases: it adds to that module's DBInstance
           cfn_property_validation,  # after cfn_resource_types (both wrap UpdateStack)
           service_rules,
           ecr_layer_downloads,
           # after cfn_resource_types (whose resource_class_from_type it wraps), cfn_create_failures (whose
           # create_resources it wraps: a rollback sends the failed resource a Delete) and ecr_layer_downloads
           # (whose dispatch it wraps)
           cfn_custom_resources,
           ecr_login_tokens, ecs_tasks, ec2_hosts, ec2_images, ssm_commands, ssm_sessions,
           cfn_dropped_properties,  # after every module that replaces a CloudFormation create
           cfn_not_modelled,  # says what a stack asks for that none of the above models
           iam_enforcement,
           request_validation,  # after iam_enforcement: a request is authorized before it is validated
           kms_secret_encryption,  # after registrations (both wrap CreateStack)
           cloudtrail_events,  # it records every final answer, denials too
           # after cloudtrail_events (which replaces moto's call_action), after the hosts' and tasks'
           # stop_all (it closes what wires them)
           host_network_wiring,
           json_answers,  # the answer's JSON as AWS serializes it
           response_shapes)  # last: it checks each answer as the client gets it


def install_all() -> None:
    from moto.cloudformation import parsing

    # LOCALAWS_WITHOUT=name,name leaves extensions out: self-tests use it to show that a check
    # fails when the AWS behaviour it relies on is missing.
    left_out = set(filter(None, os.environ.get("LOCALAWS_WITHOUT", "").split(",")))
    for module in MODULES:
        if hasattr(module, "install") and module.__name__.rsplit(".", 1)[-1] not in left_out:
            module.install()
    # moto caches its resource-type map: rebuild it so the new CloudFormation types count.
    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()


def stop_all() -> None:
    """Stop every process the extensions started (databases, tasks, hosts), and remove their sandboxes."""
    for module in MODULES:
        if hasattr(module, "stop_all"):
            module.stop_all()
    removals.wait_for_removals()
