"""No registered secret value reaches the terminal, JUnit XML or HTML report, even when a
check fails with the secret in its assertion message, its locals, its output and its logs."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from suite.redaction import SecretRegistry, encoded_forms

ROOT = Path(__file__).resolve().parents[2]
SECRET = "Pa55'w`ord\"$HOME\\ x&y=z"

FAILING_CHECK = '''
import json, logging, shlex, urllib.parse
from suite.redaction import REGISTRY

SECRET = {secret!r}


def test_fails_with_the_secret_everywhere():
    REGISTRY.register_secret_string(json.dumps({{"username": "smadmin", "password": SECRET}}))
    document = {{"password": SECRET}}
    as_json, as_url, as_shell = json.dumps(document), urllib.parse.quote(SECRET), shlex.quote(SECRET)
    print("stdout:", SECRET, as_json, as_url, as_shell)
    logging.getLogger("workshop.check").warning("log: %s %s", SECRET, as_json)
    assert document["password"] == "something else", f"expected another password than {{SECRET}} ({{as_url}})"


def test_passes_but_prints_it():
    REGISTRY.register(SECRET)
    print("passing stdout:", SECRET)
'''


def leaks_of_a_failing_check(tmp_path: Path, masking: bool) -> dict[str, list[str]]:
    """Run the leaky check in its own pytest; return the secret's forms found in each channel."""
    plugin = 'pytest_plugins = ["suite.redaction"]\n' if masking else "import suite.redaction  # no hooks\n"
    (tmp_path / "conftest.py").write_text(plugin)
    (tmp_path / "test_leaky.py").write_text(textwrap.dedent(FAILING_CHECK.format(secret=SECRET)))
    junit, html = tmp_path / "junit.xml", tmp_path / "report.html"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", str(tmp_path), "-p", "no:cacheprovider", "--showlocals", "-rA",
         "-o", "junit_logging=all", "-o", "log_level=INFO", f"--junitxml={junit}", f"--html={html}",
         "--self-contained-html", f"--rootdir={tmp_path}", "-c", os.devnull],
        cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True, timeout=120,
    )
    assert "1 failed, 1 passed" in run.stdout, run.stdout[-3000:]
    channels = {"terminal": run.stdout + run.stderr, "junit": junit.read_text(), "html": html.read_text()}
    forms = [form for form in encoded_forms(SECRET) if len(form) >= 4]
    html_escaped = [form.replace("&", "&amp;").replace('"', "&#34;").replace("'", "&#39;") for form in forms]
    return {name: [form for form in forms + html_escaped if form in text] for name, text in channels.items()}


def test_failing_check_leaks_no_secret(tmp_path: Path):
    assert leaks_of_a_failing_check(tmp_path, masking=True) == {"terminal": [], "junit": [], "html": []}


def test_without_masking_the_search_finds_the_secret_in_every_channel(tmp_path: Path):
    leaks = leaks_of_a_failing_check(tmp_path, masking=False)
    assert all(leaks.values()), f"the leak search is blind in some channel: {leaks}"


def test_registry_masks_longest_form_first():
    registry = SecretRegistry()
    registry.register("abcd")
    registry.register("abcdefgh")
    assert registry.mask("x abcdefgh y abcd") == "x *** y ***"
    assert registry.mask("nothing here") == "nothing here"
