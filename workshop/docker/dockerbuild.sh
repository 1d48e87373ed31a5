#!/bin/bash
# Build the workshop's image from this folder (the Dockerfile beside this script).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
image="${1:-smdemo:latest}"
docker build --pull --tag "${image}" "${here}"
