"""localaws/functions/runtime_zygote.py refuses an environment whose runtime would start otherwise than a fork of it
(the environment's bootstrap then starts the runtime itself): tests/fidelity/test_lambda_runtime_zygote.py shows a
forked runtime is what a started one is."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from localaws.functions import runtime_zygote, zygote
from localaws.functions.bootstrap import interpreter_facts

ZYGOTE_ENVIRONMENT = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
LOOKED = {"boto3", "botocore", "urllib3", "awscrt", "brotli"}  # found or not


def request(**changes: object) -> dict:
    facts = interpreter_facts()
    environment = {**ZYGOTE_ENVIRONMENT, "AWS_REGION": "us-east-1", "GREETING": "hello"}
    return {"facts": facts, "environment": environment, "entries": ["index.py", "pymysql", "PyMySQL-1.1.dist-info"],
            **changes}


def refusal(**changes: object) -> str:
    return runtime_zygote._refusal(request(**changes), interpreter_facts(), LOOKED, ZYGOTE_ENVIRONMENT)


def test_a_function_of_its_own_packages_and_variables_is_forked():
    assert refusal() == ""


@pytest.mark.parametrize("entries", [["index.py", "boto3"], ["index.py", "urllib3.py"], ["awscrt"],
                                     ["brotli.cpython-311-x86_64-linux-gnu.so"]],
                         ids=["its-own-boto3", "its-own-urllib3", "an-optional-module-found-only-there", "a-binary"])
def test_a_package_holding_a_module_the_zygotes_imports_looked_for_starts_its_runtime(entries):
    """The package comes first on the runtime's module path: its boto3, or a module boto3's imports look for and the
    runtime lacks (awscrt), is what the function's imports would find."""
    assert "which the zygote's imports looked for" in refusal(entries=entries)


@pytest.mark.parametrize("variable", [{"TZ": "Europe/Paris"}, {"LC_ALL": "C"}, {"LANG": "en_US.UTF-8"}])
def test_a_locale_or_time_zone_of_its_own_starts_its_runtime(variable):
    environment = {**request()["environment"], **variable}
    assert "locale or time zone" in refusal(environment=environment)


def test_an_interpreter_started_otherwise_starts_its_runtime():
    facts = {**interpreter_facts(), "path": [*sys.path, "/opt/python"]}
    assert refusal(facts=facts) == "its interpreter started otherwise than the zygote's: path"


CLIENT = """
import socket, sys
connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
connection.connect(sys.argv[1].replace("@", "\\0", 1))
try:
    connection.sendall(b'{"pid": 1}\\n')
    print(connection.recv(4096).decode() or "closed")
except OSError:  # closed already (a reset: what was sent was never read)
    print("closed")
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="the zygote runs as root, in a sandbox")
def test_the_zygote_answers_its_own_user_only():
    """Its socket is an abstract one, which any process of this network namespace may reach: another user's request
    (the runtime it asked for would run as root) is closed unanswered; root's is answered (here refused: it sent no
    streams)."""
    connection = zygote.connection()
    assert connection is not None, "no zygote started"
    connection.close()
    address = zygote._address.replace("\0", "@", 1)
    as_root = subprocess.run([sys.executable, "-c", CLIENT, address], capture_output=True, text=True, timeout=60)
    assert "refused" in as_root.stdout and "three standard streams" in as_root.stdout, as_root
    as_nobody = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c",
                                CLIENT, address], capture_output=True, text=True, timeout=60)
    assert as_nobody.stdout.strip() == "closed", as_nobody
