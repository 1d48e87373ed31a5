"""What a function's code sees of the machine: Lambda's filesystem, in a bubblewrap sandbox.

AWS (Lambda developer guide, "Lambda runtimes", "Configure ephemeral storage"): the code is at
/var/task (LAMBDA_TASK_ROOT, the working directory), /tmp is writable and private, everything
else is read-only; Amazon Linux keeps its trusted CAs at /etc/pki/tls/cert.pem (and
/etc/pki/tls/certs/ca-bundle.crt, /etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem), and AWS's
rotation functions verify RDS certificates against it; AWS's endpoints have certificates the
SDK's own trust store (certifi) accepts; `https://<service>.<region>.amazonaws.com` resolves.
Here: the host's root read-only, /tmp and /var fresh, the code bound at /var/task, the CA
paths and certifi's bundle holding the local AWS's CA (localaws/certificates.py: it signs the
RDS instances' and the endpoints' certificates; nothing offline has a public CA's, and a small
bundle keeps each TLS context cheap), /etc/hosts sending the endpoint names to
localaws/endpoints.py (or, where the network model says no, to a black hole), and a network
namespace of its own.
"""
from __future__ import annotations

import os
from pathlib import Path

import certifi

from localaws import certificates
from localaws.system_tools import require_tool

TASK_ROOT = "/var/task"
AMAZON_LINUX_CA_PATHS = ("/etc/pki/tls/cert.pem", "/etc/pki/tls/certs/ca-bundle.crt",
                         "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem")


def command(code_dir: Path, hosts: Path, info_fd: int, argv: list[str]) -> list[str]:
    """`argv` run as a function's runtime: in the sandbox, in /var/task, in a network namespace of
    its own (localaws/lambda_network.py wires it); bwrap writes the runtime's pid to `info_fd`."""
    trust = certificates.bundle()
    args = [require_tool(["bwrap"], "bubblewrap"), "--die-with-parent", "--unshare-net", "--info-fd", str(info_fd),
            "--ro-bind", "/", "/",
            "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--tmpfs", "/var", "--tmpfs", "/etc"]
    for entry in sorted(os.listdir("/etc")):
        source = f"/etc/{entry}"
        if entry == "hosts":
            continue
        if os.path.islink(source):
            args += ["--symlink", os.readlink(source), source]
        else:
            args += ["--ro-bind", source, source]
    args += ["--ro-bind", str(hosts), "/etc/hosts"]
    for path in AMAZON_LINUX_CA_PATHS:
        args += ["--ro-bind", str(trust), path]
    args += ["--ro-bind", str(trust), certifi.where(), "--ro-bind", str(code_dir), TASK_ROOT,
             "--chdir", TASK_ROOT, "--", *argv]
    return args
