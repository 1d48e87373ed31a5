#!/usr/bin/env bash
# The project's own tests: unit and fidelity tests of the local AWS, the self-tests that
# break the workshop on purpose, and the offline checks. Never touches a real AWS account.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "${root}/scripts/setup.sh"
cd "${root}"
mkdir -p reports
# The code's own checks first, in seconds (configuration: pyproject.toml).
.venv/bin/ruff check --quiet .
.venv/bin/python -m mypy
shellcheck scripts/*.sh .ci/run
# SMDEMO_TEST_WORKERS=2 runs on two workers (16.5 min instead of ~20; one interrupted-run self-test still fails
# there, see README): a file's tests stay on one, the workshop's phases all on one
# (tests/support/parallel_runs.py); the self-tests' broken-workshop runs mostly wait on their subprocesses.
exec .venv/bin/python -m pytest tests -n "${SMDEMO_TEST_WORKERS:-0}" --dist loadfile \
  --html=reports/tests.html --self-contained-html --junitxml=reports/tests.xml "$@"
