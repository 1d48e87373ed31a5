"""localaws.hosts.docker_engine, docker_cli, ext/ecr_login_tokens: Docker on an instance, as the ECR guide uses it.

AWS: ECR user guide, "Pushing a Docker image" (`aws ecr get-login-password | docker login --username AWS
--password-stdin <registry>`, then `docker tag` and `docker push`; the push needs ecr:InitiateLayerUpload,
ecr:UploadLayerPart, ecr:CompleteLayerUpload, ecr:BatchCheckLayerAvailability and ecr:PutImage on the
repository); "Private registry authentication" (the token is the caller's, valid 12 hours). Amazon Linux
2023 user guide, "Docker": `dnf install docker`, `systemctl start docker`, `usermod -aG docker ec2-user`
(without it: permission denied on /var/run/docker.sock).
"""
from __future__ import annotations

import base64
import datetime

import pytest

from tests.support.aws_helpers import unique
from tests.support.ssm_agent import AGENT_POLICY, agent_profile, booted as _booted, launch, run_command
from tests.fidelity.validation import NOT_YET_VALIDATED

DOCKERFILE = ('FROM public.ecr.aws/amazonlinux/amazonlinux:2023\nRUN echo built > /opt/built\n'
              'CMD ["cat", "/opt/built"]\n')
PUSH_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
                "ecr:CompleteLayerUpload", "ecr:PutImage"]


def as_ec2_user(aws, instance: str, script: str) -> dict:
    return run_command(aws, instance, f"sudo -iu ec2-user <<'EOF'\n{script}\nEOF")


@pytest.fixture(scope="module")
def repository(aws) -> dict:
    return aws.client("ecr").create_repository(repositoryName=unique("fid-docker"))["repository"]


def _instance(aws, vpc, repository, may_push: bool) -> str:
    statements = [*AGENT_POLICY["Statement"],
                  {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"}]
    if may_push:
        statements.append({"Effect": "Allow", "Action": PUSH_ACTIONS, "Resource": repository["repositoryArn"]})
    instance = launch(aws, None, vpc["public"],
                      agent_profile(aws, {"Version": "2012-10-17", "Statement": statements}),
                      user_data="#!/bin/bash\nset -eux\ninstall -d -o ec2-user -g ec2-user /home/ec2-user/image\n")
    _booted(aws, instance)
    context = base64.b64encode(DOCKERFILE.encode()).decode()
    run_command(aws, instance, f"echo {context} | base64 -d > /home/ec2-user/image/Dockerfile")
    return instance


@pytest.fixture(scope="module")
def pusher(aws, vpc, repository):
    instance = _instance(aws, vpc, repository, may_push=True)
    yield instance
    aws.client("ec2").terminate_instances(InstanceIds=[instance])


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_docker_comes_with_its_package_its_service_and_its_group(aws, pusher):
    steps = run_command(aws, pusher, "docker images >/dev/null 2>&1; echo before install $?",
                        "dnf install -y docker >/dev/null", "docker images 2>&1 | head -1",
                        "systemctl enable --now docker >/dev/null; docker images | head -1",
                        "sudo -iu ec2-user docker images 2>&1 | head -1",
                        "usermod -aG docker ec2-user; sudo -iu ec2-user docker images | head -1")
    lines = steps["StandardOutputContent"].splitlines()
    assert lines[0] == "before install 127"
    assert lines[1].startswith("Cannot connect to the Docker daemon at unix:///var/run/docker.sock")
    assert lines[2].split()[:2] == ["REPOSITORY", "TAG"]
    assert "permission denied while trying to connect to the Docker daemon socket" in lines[3]
    assert lines[4].split()[:2] == ["REPOSITORY", "TAG"]


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_build_login_tag_and_push_land_the_image_in_ecr(aws, pusher, repository):
    uri, registry = repository["repositoryUri"], repository["repositoryUri"].split("/")[0]
    run_command(aws, pusher, "dnf install -y docker >/dev/null; systemctl start docker; usermod -aG docker ec2-user")
    without_login = as_ec2_user(aws, pusher, f"docker build -t demo:latest ~/image >/dev/null && "
                                                   f"docker tag demo:latest {uri}:latest && docker push {uri}:latest")
    assert without_login["ResponseCode"] == 1 and "no basic auth credentials" in without_login["StandardErrorContent"]
    pushed = as_ec2_user(aws, pusher, f"aws ecr get-login-password | docker login --username AWS "
                                            f"--password-stdin {registry} && docker push {uri}:latest && docker images")
    assert pushed["ResponseCode"] == 0, pushed["StandardErrorContent"]
    assert "Login Succeeded" in pushed["StandardOutputContent"]
    listed = [line.split()[:2] for line in pushed["StandardOutputContent"].splitlines()]
    assert [uri, "latest"] in listed and ["demo", "latest"] in listed
    images = aws.client("ecr").describe_images(repositoryName=repository["repositoryName"])["imageDetails"]
    assert any("latest" in image.get("imageTags", []) for image in images)


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_login_token_is_the_callers_and_lasts_12_hours(aws):
    data = aws.client("ecr").get_authorization_token()["authorizationData"][0]
    username, password = base64.b64decode(data["authorizationToken"]).decode().split(":", 1)
    assert username == "AWS" and len(password) > 40 and not password.endswith("-auth-token")
    left = data["expiresAt"] - datetime.datetime.now(datetime.timezone.utc)
    assert datetime.timedelta(hours=11, minutes=50) < left <= datetime.timedelta(hours=12)


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_role_that_may_not_push_is_denied(aws, vpc, repository):
    instance = _instance(aws, vpc, repository, may_push=False)
    try:
        uri, registry = repository["repositoryUri"], repository["repositoryUri"].split("/")[0]
        denied = run_command(aws, instance, "dnf install -y docker >/dev/null; systemctl start docker",
                             f"cd /home/ec2-user/image && docker build -t {uri}:latest . >/dev/null",
                             f"aws ecr get-login-password | docker login -u AWS --password-stdin {registry} >/dev/null",
                             f"docker push {uri}:latest")
        assert denied["ResponseCode"] == 1
        assert "denied:" in denied["StandardErrorContent"] and "ecr:" in denied["StandardErrorContent"], (
            denied["StandardErrorContent"])
    finally:
        aws.client("ec2").terminate_instances(InstanceIds=[instance])
