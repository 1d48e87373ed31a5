#!/usr/bin/env bash
# Verify the workshop end to end on this machine, no AWS account needed.
# Writes reports/offline.html (for instructors) and reports/offline.xml (JUnit).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "${root}/scripts/setup.sh"
cd "${root}"
mkdir -p reports
exec .venv/bin/python -m pytest -m offline tests/rds tests/fargate tests/audit \
  --html=reports/offline.html --self-contained-html --junitxml=reports/offline.xml "$@"
