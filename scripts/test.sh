#!/usr/bin/env bash
# The project's own tests: unit and fidelity tests of the local AWS, the self-tests that
# break the workshop on purpose, and the offline checks. Never touches a real AWS account.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "${root}/scripts/setup.sh"
cd "${root}"
mkdir -p reports
# The tests start hundreds of Python processes: each compiles the project's modules (and pytest rewrites its
# tests) once, not again in every process, as it would where the environment forbids writing bytecode.
unset PYTHONDONTWRITEBYTECODE
# The code's own checks first, in seconds (configuration: pyproject.toml).
.venv/bin/ruff check --quiet .
.venv/bin/python -m mypy
shellcheck scripts/*.sh .ci/run
# The phases' checks run once, as the README's first command from a clone of the project
# (tests/selftest/test_runs_wherever_cloned.py, which also opens its report): not again in this process.
ignored=()
read -r -a phases <<< "$(.venv/bin/python -m suite.report.phases)"
for phase in "${phases[@]}"; do
  ignored+=("--ignore=${phase}")
done
# Three pytest-xdist workers (SMDEMO_TEST_WORKERS; 0 runs them in one process): a file's tests stay on one
# (tests/support/parallel_runs.py); the self-tests' broken-workshop runs mostly wait on their subprocesses, so on
# two cores a third worker fills time two leave idle.
exec .venv/bin/python -m pytest tests "${ignored[@]}" -n "${SMDEMO_TEST_WORKERS:-3}" --dist loadfile \
  --html=reports/tests.html --self-contained-html --junitxml=reports/tests.xml "$@"
