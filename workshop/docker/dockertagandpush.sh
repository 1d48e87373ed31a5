#!/bin/bash
# Tag the built image with the ECR repository's URI and push it.
# Usage: dockertagandpush.sh REPOSITORY_URI [LOCAL_IMAGE]
set -euo pipefail

repository_uri="${1:?usage: dockertagandpush.sh REPOSITORY_URI [LOCAL_IMAGE]}"
local_image="${2:-smdemo:latest}"
registry="${repository_uri%%/*}"
region="$(cut -d. -f4 <<<"${registry}")"

aws ecr get-login-password --region "${region}" \
  | docker login --username AWS --password-stdin "${registry}"
docker tag "${local_image}" "${repository_uri}:latest"
docker push "${repository_uri}:latest"
