"""The Template phase: the workshop under test (`workshop_folder()`: the repository's workshop/, --workshop DIR,
a self-test's broken copy) read as its author hands it out, before anything is deployed, in seconds.

One check per tool, each with the tool's own findings as evidence (rule id, level, message, file:line):
cfn-lint and checkov over template.yaml, the reviewer's controls (suite/controls/template.py),
shellcheck over docker/ and app/'s shell scripts, hadolint over docker/Dockerfile, and the rotation
function's package (rotation/, as the deploy zips it) against the runtime the template declares.

The checks run in both modes like every phase (`-m offline`, `-m live`), through the `mode` fixture:
nothing is deployed, no local AWS is started, no credentials are needed, and the tools' results are
read once for both modes. cfn-lint and checkov work in the background from the run's start and these checks
run after the App phase (suite/template_tools.py); the report lists them first.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from suite.deploy.packaging import build_rotation_zip
from suite.controls import linters
from suite.controls import rotation_package
from suite.controls import template as tc
from suite.controls.static_scan import RunningScan
from suite.environment import EnvironmentProblem
from suite.preflight import stop_for_environment
from suite import template_tools
from suite.workshop_folder import workshop_folder

pytestmark = pytest.mark.usefixtures("mode")
MIN_REASON = 40  # characters: a skip's reason, not "n/a"


@pytest.fixture(scope="module")
def workshop() -> Path:
    return workshop_folder().root


@pytest.fixture(scope="module")
def template_path(workshop: Path) -> Path:
    return workshop / "template.yaml"


@pytest.fixture(scope="module")
def template(template_path: Path) -> dict:
    return tc.load_template(template_path)


# cfn-lint and checkov run once for the session's modes, in the background from the run's start
# (suite/template_tools.py): the files are the same whichever AWS the other phases use.
@pytest.fixture(scope="module")
def cfn_lint_run(request: pytest.FixtureRequest) -> linters.RunningCfnLint:
    return template_tools.running(request.config, "cfn-lint")  # type: ignore[return-value]


@pytest.fixture(scope="module")
def cfn_lint_findings(cfn_lint_run: linters.RunningCfnLint) -> list[linters.Finding]:
    return cfn_lint_run.result()


@pytest.fixture(scope="module")
def taggable_types(request: pytest.FixtureRequest, template: dict) -> set[str]:
    """The template's resource types that take Tags: as the run's cfn-lint process read them where one runs (it has
    imported cfn-lint, a second of CPU here), else read here."""
    cfn_lint = template_tools.started(request.config, "cfn-lint")
    found = cfn_lint.taggable_types() if isinstance(cfn_lint, linters.RunningCfnLint) else None
    return found if found is not None else tc.taggable_types(template)


@pytest.fixture(scope="module")
def checkov_run(request: pytest.FixtureRequest) -> RunningScan:
    return template_tools.running(request.config, "checkov")  # type: ignore[return-value]


@pytest.fixture(scope="module")
def checkov_scan(checkov_run: RunningScan, request: pytest.FixtureRequest):
    try:
        return checkov_run.result()
    except EnvironmentProblem as problem:  # the verdict: NOT RUN, naming it; no phase is blamed
        stop_for_environment(request.config, f"Template: {problem}")


@pytest.fixture(scope="module")
def shell_scripts(workshop: Path) -> list[Path]:
    return linters.shell_scripts(workshop)


@pytest.fixture(scope="module")
def shellcheck_findings(workshop: Path, shell_scripts: list[Path]) -> list[linters.Finding]:
    return linters.shellcheck(shell_scripts, workshop)


@pytest.fixture(scope="module")
def hadolint_findings(workshop: Path) -> list[linters.Finding]:
    return linters.hadolint(workshop / "docker" / "Dockerfile", workshop)


def findings_as_evidence(evidence, tool: str, findings: list[linters.Finding], read: str) -> list[linters.Finding]:
    """The tool's findings as a table; what fails (its errors) as the expectation."""
    evidence.text(f"What {tool} read", read)
    if findings:
        evidence.table(f"{tool}'s findings", linters.HEADERS, [finding.row() for finding in findings])
    errors = [finding for finding in findings if finding.failing]
    others = len(findings) - len(errors)
    evidence.expect(f"{tool} reports no error (warnings and notes are shown, not failed)",
                    f"{len(errors)} error(s), {others} other finding(s)" +
                    "".join(f"\n{finding}" for finding in errors))
    return errors


@pytest.mark.guide_step("Before class 1")
def test_cfnlint_finds_no_error_in_the_template(workshop, template_path, cfn_lint_findings, cfn_lint_run, evidence):
    findings = cfn_lint_findings
    errors = findings_as_evidence(
        evidence, "cfn-lint", findings,
        f"{template_path.relative_to(workshop)} with cfn-lint {linters.cfn_lint_version()}, regions "
        f"{', '.join(linters.CFN_LINT_REGIONS)}, informational and experimental rules included; "
        f"{cfn_lint_run.background.said}")
    assert not errors, "cfn-lint's errors (AWS would refuse or fail these):\n" + "\n".join(map(str, errors))


@pytest.mark.guide_step("Before class 2")
def test_checkov_finds_nothing_the_template_does_not_skip_with_a_reason(workshop, template_path, checkov_scan,
                                                                       checkov_run, evidence):
    result = checkov_scan
    where = template_path.relative_to(workshop)
    evidence.text("What checkov read", f"{where} with checkov {result.version} (framework cloudformation, no "
                                       f"network), the skips written in each resource's Metadata; "
                                       f"{checkov_run.background.said}")
    rows = [[f.check_id, "FAILED", f.name, f"{where}:{f.line} ({f.resource})"] for f in result.failed]
    rows += [[f.check_id, "skipped", f"{f.name}: {f.comment or '(no reason written)'}",
              f"{where}:{f.line} ({f.resource})"] for f in result.skipped]
    evidence.table("checkov's failed and skipped checks", ["check", "result", "name / the skip's reason", "file:line"],
                   rows)
    short = [f for f in result.skipped if len(f.comment.strip()) < MIN_REASON]
    evidence.expect("every checkov check passes, or is skipped in the resource's Metadata with a written reason",
                    f"{result.passed} passed, {len(result.failed)} failed, {len(result.skipped)} skipped "
                    f"({len(short)} without a reason)" + "".join(f"\n{f}" for f in [*result.failed, *short]))
    assert result.passed > 0, f"checkov {result.version} checked nothing in {where}"
    assert not result.failed, "checkov's failed checks:\n" + "\n".join(map(str, result.failed))
    assert not short, "skipped without a written reason:\n" + "\n".join(map(str, short))


@pytest.mark.guide_step("Before class 3")
def test_template_meets_the_reviewers_controls(workshop, template_path, template, taggable_types, evidence):
    problems = tc.control_problems(template, taggable_types)
    lines = tc.declared_lines(template_path.read_text(encoding="utf-8"))
    where = template_path.relative_to(workshop)
    evidence.text("What was read", f"{where}: {len(tc.resources(template))} resources, "
                                   f"{len(tc.policy_statements(template))} policy statements, secrets "
                                   f"{', '.join(tc.resources(template, 'AWS::SecretsManager::Secret')) or 'none'}")
    if problems:
        evidence.table("The controls not met", ["control", "resource", "problem", "file:line"],
                       [[p.control, p.logical_id, p.message, f"{where}:{lines.get(p.logical_id, 1)}"]
                        for p in problems])
    evidence.expect("every Secrets Manager grant names one of the template's secrets, none a wildcard; database "
                    "passwords exclude what RDS and the scripts refuse; rotation every 1..30 days, not on update; "
                    "no public database; no secret in a task's plain environment; every taggable resource "
                    "tagged Project", f"{len(problems)} control(s) not met" + "".join(
                        f"\n{p.control}: {p.message}" for p in problems))
    assert not problems, "\n".join(f"{where}:{lines.get(p.logical_id, 1)}: {p.control}: {p.message}"
                                   for p in problems)


@pytest.mark.guide_step("Before class 4")
def test_shellcheck_finds_no_error_in_the_shell_scripts(workshop, shell_scripts, shellcheck_findings, evidence):
    scripts = shell_scripts
    errors = findings_as_evidence(evidence, "shellcheck", shellcheck_findings,
                                  f"shellcheck {linters.shellcheck_version()}, every level, over "
                                  + ", ".join(str(path.relative_to(workshop)) for path in scripts))
    assert scripts, f"no shell script in {workshop}/docker or app/"
    assert not errors, "shellcheck's errors:\n" + "\n".join(map(str, errors))


@pytest.mark.guide_step("Before class 5")
def test_hadolint_finds_no_error_in_the_dockerfile(workshop, hadolint_findings, evidence):
    dockerfile = workshop / "docker" / "Dockerfile"
    errors = findings_as_evidence(evidence, "hadolint", hadolint_findings,
                                  f"{dockerfile.relative_to(workshop)} with {linters.hadolint_version()}, every "
                                  f"level, its own `# hadolint ignore=` comments honoured")
    assert not errors, "hadolint's errors:\n" + "\n".join(map(str, errors))


def rotation_functions(template: dict) -> dict[str, dict]:
    """The Lambda functions whose code is the package the deploy builds from workshop/rotation/ (RotationCodeKey)."""
    return {lid: tc.properties(res) for lid, res in tc.resources(template, "AWS::Lambda::Function").items()
            if "RotationCodeKey" in tc.references(tc.properties(res).get("Code"))}


@pytest.mark.guide_step("Before class 6")
def test_rotation_function_package_runs_on_its_declared_runtime(workshop, template, evidence):
    functions = rotation_functions(template)
    assert functions, ("no AWS::Lambda::Function in the template takes its Code from RotationCodeKey "
                       "(workshop/rotation/)")
    source = workshop / "rotation"
    package = build_rotation_zip(source)
    problems = []
    for lid, props in functions.items():
        report = rotation_package.check(source, str(props.get("Runtime")), str(props.get("Handler")), package,
                                        workshop)
        evidence.text(f"{lid}: what was read",
                      f"Runtime {report.runtime}, Handler {props.get('Handler')}; code read with {report.grammar}\n"
                      f"the package (suite/deploy/packaging.py build_rotation_zip): {len(report.package)} files: "
                      + ", ".join(name for name in report.package if "/" not in name) + ", "
                      + ", ".join(sorted({name.split('/')[0] + "/" for name in report.package if "/" in name})))
        evidence.table(f"{lid}: its imports", ["module", "file:line", "found in"], [list(i) for i in report.imports])
        problems += [f"{lid}: {problem}" for problem in report.problems]
    evidence.expect("every module the function imports is in its package or its runtime (else AWS says "
                    "Runtime.ImportModuleError), and its code is in the runtime's Python",
                    f"{len(problems)} problem(s)" + "".join(f"\n{p}" for p in problems))
    assert not problems, "\n".join(problems)
