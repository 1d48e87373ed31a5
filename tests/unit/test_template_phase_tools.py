"""What the Template phase's checks are made of (tests/template), on small inputs: the rotation function's
package against its runtime, which files are shell scripts, the exclusion control, a template's line numbers."""
from __future__ import annotations

import io
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from suite.controls import linters
from suite.controls import rotation_package as rp
from suite.controls import template as tc


def zipped(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "")
    return buffer.getvalue()


def package_report(tmp_path: Path, code: str, runtime: str = "python3.12", handler: str = "fn.lambda_handler",
                   bundled: tuple[str, ...] = ("fn.py", "pymysql/__init__.py")) -> rp.Report:
    source = tmp_path / "rotation"
    source.mkdir(exist_ok=True)
    (source / "fn.py").write_text(textwrap.dedent(code))
    return rp.check(source, runtime, handler, zipped(*bundled), tmp_path)


def test_imports_found_in_the_package_the_standard_library_and_the_runtimes_sdk(tmp_path):
    report = package_report(tmp_path, """
        import json, os.path
        from . import helpers
        import boto3, botocore.exceptions
        import pymysql.cursors
        def lambda_handler(event, context):
            import dateutil.parser
    """)
    assert report.problems == []
    assert {module: place for module, _, place in report.imports} == {
        "json": "python3.12: standard library", "os": "python3.12: standard library",
        "boto3": "python3.12: the AWS SDK the runtime ships", "botocore": "python3.12: the AWS SDK the runtime ships",
        "pymysql": "the package", "dateutil": "python3.12: the AWS SDK the runtime ships"}


def test_an_import_inside_a_function_names_the_error_aws_gives_and_where(tmp_path):
    report = package_report(tmp_path, """
        def lambda_handler(event, context):
            pass

        def notify():
            import requests
    """)
    (problem,) = report.problems
    assert problem.error == "Runtime.ImportModuleError" and problem.where == "rotation/fn.py:6"
    assert "Unable to import module 'fn': No module named 'requests'" in problem.message


def test_an_import_guarded_by_import_error_is_optional(tmp_path):
    report = package_report(tmp_path, """
        try:
            import ujson as json
        except ImportError:
            import json
        def lambda_handler(event, context):
            pass
    """)
    assert report.problems == []


def test_a_module_the_runtime_no_longer_has(tmp_path):
    code = "import distutils\ndef lambda_handler(event, context):\n    pass\n"
    assert [p.error for p in package_report(tmp_path, code, runtime="python3.12").problems] == [
        "Runtime.ImportModuleError"]
    if "distutils" in sys.stdlib_module_names:  # this interpreter's standard library still has it
        assert package_report(tmp_path, code, runtime="python3.11").problems == []


def test_code_newer_than_the_runtimes_grammar(tmp_path):
    code = "def lambda_handler(event, context):\n    match event:\n        case _:\n            pass\n"
    (problem,) = package_report(tmp_path, code, runtime="python3.9").problems  # match arrived in 3.10
    assert problem.error == "Runtime.UserCodeSyntaxError" and problem.where.startswith("rotation/fn.py:")
    assert package_report(tmp_path, code, runtime="python3.10").problems == []


def test_grammar_of_a_runtime_newer_than_this_interpreter_is_said(tmp_path):
    newer = f"python3.{sys.version_info[1] + 1}"
    report = package_report(tmp_path, "def lambda_handler(e, c):\n    pass\n", runtime=newer)
    assert report.problems == [] and f"Python 3.{sys.version_info[1]}'s stood in" in report.grammar


@pytest.mark.parametrize("handler, error", [("other.lambda_handler", "Runtime.ImportModuleError"),
                                            ("fn.handler", "Runtime.HandlerNotFound")])
def test_a_handler_the_package_does_not_have(tmp_path, handler, error):
    report = package_report(tmp_path, "def lambda_handler(e, c):\n    pass\n", handler=handler)
    assert [p.error for p in report.problems] == [error]


def test_a_runtime_that_is_not_python(tmp_path):
    report = package_report(tmp_path, "def lambda_handler(e, c):\n    pass\n", runtime="nodejs20.x")
    assert [p.error for p in report.problems] == ["Runtime"]


def test_shell_scripts_by_name_or_by_their_first_line(tmp_path):
    (tmp_path / "docker").mkdir()
    (tmp_path / "app").mkdir()
    (tmp_path / "docker" / "a.sh").write_text("echo a\n")
    (tmp_path / "docker" / "entry").write_text("#!/usr/bin/env bash\necho b\n")
    (tmp_path / "docker" / "tool").write_text("#!/usr/bin/python3\nprint()\n")
    (tmp_path / "docker" / "Dockerfile").write_text("FROM x\n")
    (tmp_path / "app" / "start").write_text("#!/bin/sh\necho c\n")
    assert [str(p.relative_to(tmp_path)) for p in linters.shell_scripts(tmp_path)] == [
        "docker/a.sh", "docker/entry", "app/start"]


def test_shellcheck_and_hadolint_findings_keep_the_tools_words(tmp_path):
    script = tmp_path / "x.sh"
    script.write_text('#!/bin/bash\nfor f in $@; do echo "$f"; done\n')
    (finding,) = linters.shellcheck([script], tmp_path)
    assert (finding.rule, finding.level, finding.where, finding.failing) == ("SC2068", "error", "x.sh:2", True)
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM alpine:3.20\nADD x /x\n")
    assert [(f.rule, f.level, f.where) for f in linters.hadolint(dockerfile, tmp_path)] == [
        ("DL3020", "error", "Dockerfile:2")]


def secret_template(excluded: str, rotation_excludes: str | None = None, attached: bool = True) -> dict:
    resources = {"S": {"Type": "AWS::SecretsManager::Secret",
                       "Properties": {"GenerateSecretString": {"ExcludeCharacters": excluded}}}}
    if attached:
        resources["A"] = {"Type": "AWS::SecretsManager::SecretTargetAttachment",
                          "Properties": {"SecretId": {"Ref": "S"}, "TargetId": {"Ref": "D"}}}
    if rotation_excludes is not None:
        resources["F"] = {"Type": "AWS::Lambda::Function",
                          "Properties": {"Environment": {"Variables": {"EXCLUDE_CHARACTERS": rotation_excludes}}}}
    return {"Resources": resources}


def test_database_passwords_exclude_what_rds_and_the_scripts_refuse():
    everything = "".join(sorted(tc.EXCLUDED_CHARACTERS))
    assert tc.exclusion_problems(secret_template(everything, everything)) == []
    assert [lid for lid, _ in tc.exclusion_problems(secret_template(" /@"))] == ["S"]
    assert tc.exclusion_problems(secret_template(" /@", attached=False)) == []  # not a database password
    (problem,) = tc.exclusion_problems(secret_template(everything + "$", everything))
    assert problem[0] == "F" and "'$'" in problem[1]  # rotated passwords may hold what the first could not


def test_declared_lines_of_the_resources():
    text = ("Parameters:\n  P:\n    Type: String\nResources:\n  A:\n    Type: X\n  B: # note\n    Type: Y\n"
            "Outputs:\n  O:\n")
    assert tc.declared_lines(text) == {"A": 5, "B": 7}
