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
# Two pytest-xdist workers (SMDEMO_TEST_WORKERS; 0 runs them in one process): a file's tests stay on one, the
# workshop's phases all on one (tests/support/parallel_runs.py); the self-tests' broken-workshop runs mostly wait on
# their subprocesses.
exec .venv/bin/python -m pytest tests -n "${SMDEMO_TEST_WORKERS:-2}" --dist loadfile \
  --html=reports/tests.html --self-contained-html --junitxml=reports/tests.xml "$@"
