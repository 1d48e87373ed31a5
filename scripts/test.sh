#!/usr/bin/env bash
# The project's own tests: unit and fidelity tests of the local AWS, the self-tests that
# break the workshop on purpose, and the offline checks. Never touches a real AWS account.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "${root}/scripts/setup.sh"
cd "${root}"
mkdir -p reports
exec .venv/bin/python -m pytest tests \
  --html=reports/tests.html --self-contained-html --junitxml=reports/tests.xml "$@"
