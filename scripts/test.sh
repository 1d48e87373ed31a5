#!/usr/bin/env bash
# The project's own tests: unit and fidelity tests of the local AWS, the self-tests that
# break the workshop on purpose, and the offline checks. Never touches a real AWS account.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The code's own checks first: ruff and mypy as soon as the virtualenv is ready, beside the Debian packages a fresh
# machine is still installing (mypy's first run takes some 10 s of a core the unpacking leaves idle), then shellcheck.
bash "${root}/scripts/setup.sh" --then bash "${root}/scripts/check-code.sh"
cd "${root}"
shellcheck scripts/*.sh .ci/run
mkdir -p reports
# The tests start hundreds of Python processes: each compiles the project's modules (and pytest rewrites its
# tests) once, not again in every process, as it would where the environment forbids writing bytecode.
unset PYTHONDONTWRITEBYTECODE
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
