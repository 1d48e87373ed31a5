"""What a function's code sees of the machine: Lambda's filesystem, in a bubblewrap sandbox.

AWS (Lambda developer guide, "Lambda runtimes", "Configure ephemeral storage"): the code is at
/var/task (LAMBDA_TASK_ROOT, the working directory), /tmp is writable and private, everything
else is read-only; Amazon Linux keeps its trusted CAs at /etc/pki/tls/cert.pem (and
/etc/pki/tls/certs/ca-bundle.crt, /etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem; the first is
OpenSSL's default there), and AWS's rotation functions verify RDS certificates against it; AWS's
endpoints have certificates the SDK's own trust store (certifi) accepts;
`https://<service>.<region>.amazonaws.com` resolves.
The runtime gives the code the standard library and the SDK for Python (boto3, botocore and their
dependencies) in /var/runtime, and nothing else: a module the package does not bundle fails its
import (Runtime.ImportModuleError).
Here: the host's root read-only, /tmp fresh and writable, /var fresh and read-only, the code bound at /var/task;
the runtime is this machine's Python interpreter without its site-packages (`-I -S`: no virtualenv, no
/usr/lib/python3/dist-packages), with boto3 & co. bound from where the local AWS has them into
/var/runtime, and the bootstrap beside them; so nothing depends on where the project or its
virtualenv lives (a clone under /tmp, a symlinked .venv). The CA paths and botocore's bundle hold
the local AWS's CA (localaws/certificates.py: it signs the RDS instances' and the endpoints'
certificates; nothing offline has a public CA's, and a small bundle keeps each TLS context cheap),
and so does any certifi bundle the package ships; /etc/hosts sends the endpoint names to
localaws/network/endpoints.py (or, where the network model says no, to a black hole), and the sandbox has a
network namespace of its own.
"""
from __future__ import annotations

import functools
import importlib.util
import os
import sys
from pathlib import Path

from localaws import certificates
from localaws.system_tools import require_tool

TASK_ROOT = "/var/task"
RUNTIME_ROOT = "/var/runtime"
AMAZON_LINUX_CA_PATHS = ("/etc/pki/tls/cert.pem", "/etc/pki/tls/certs/ca-bundle.crt",
                         "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem")
# What Lambda's Python runtimes ship beside the standard library (AWS: "Building Lambda functions with
# Python": the runtime includes the SDK for Python, Boto3), with the packages Boto3 needs.
RUNTIME_LIBRARIES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")
BOOTSTRAP = Path(__file__).resolve().with_name("bootstrap.py")
ZYGOTE = BOOTSTRAP.with_name("runtime_zygote.py")
FORKED_SCRIPTS = BOOTSTRAP.parents[1] / "forked_scripts.py"
FORKED_FROM = "--forked-from"  # bootstrap.py's option: a connection to the zygote
# CA bundles a function's package may carry, which its HTTPS clients trust instead of the system's.
PACKAGED_CA_BUNDLES = ("certifi/cacert.pem", "botocore/cacert.pem")


@functools.cache
def interpreter() -> tuple[str, str]:
    """The Python that stands in for the runtime's (the interpreter behind any virtualenv) and its version."""
    base = getattr(sys, "_base_executable", None) or sys.executable
    return os.path.realpath(base), ".".join(map(str, sys.version_info[:3]))


def stand_in() -> str:
    """What runs a function whatever Python runtime it declares, in words for the report."""
    from importlib import metadata

    return (f"Python {interpreter()[1]} (this machine's) stands in for every python3.x runtime, with the "
            f"standard library and boto3 {metadata.version('boto3')} only")


@functools.cache
def default_trust_file() -> str:
    """The file this machine's OpenSSL trusts by default (Debian's /etc/ssl/certs/ca-certificates.crt), which
    stands in for Amazon Linux's /etc/pki/tls/cert.pem: what an HTTPS client given no CA bundle trusts (the
    cfn-response module's urllib3, say)."""
    import ssl

    return os.path.realpath(ssl.get_default_verify_paths().openssl_cafile)


@functools.cache
def runtime_libraries() -> tuple[tuple[str, str], ...]:
    """(where this machine has it, where the runtime has it) for each library Lambda's runtime ships."""
    binds = []
    for name in RUNTIME_LIBRARIES:
        spec = importlib.util.find_spec(name)
        if spec is None:
            raise RuntimeError(f"the local AWS's Lambda runtime needs the Python package {name!r}: "
                               f"pip install -r requirements.txt")
        source = list(spec.submodule_search_locations)[0] if spec.submodule_search_locations else spec.origin
        assert source is not None
        binds.append((os.path.realpath(source), f"{RUNTIME_ROOT}/{os.path.basename(source)}"))
    return tuple(binds)


def _sandbox() -> list[str]:
    """bwrap with what an environment and the runtime's zygote share: the machine read-only, /tmp and /var fresh,
    a network namespace of their own."""
    return [require_tool(["bwrap"], "bubblewrap"), "--die-with-parent", "--unshare-net", "--ro-bind", "/", "/",
            "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--tmpfs", "/var"]


def _runtime_files() -> list[str]:
    """The interpreter's installation (wherever it is: under /tmp or /var it would be hidden), the runtime's
    libraries and the bootstrap, where an environment has them."""
    args = ["--ro-bind", sys.base_prefix, sys.base_prefix]
    for source, target in runtime_libraries():
        args += ["--ro-bind", source, target]
    return args + ["--ro-bind", str(BOOTSTRAP), f"{RUNTIME_ROOT}/bootstrap.py"]


def zygote_command(listener_fd: int) -> list[str]:
    """The runtime's zygote (localaws/functions/runtime_zygote.py), in a sandbox with the runtime's files where an
    environment has them, accepting on `listener_fd`."""
    python, _ = interpreter()
    return [*_sandbox(), *_runtime_files(), "--ro-bind", str(ZYGOTE), "/tmp/runtime_zygote.py",
            "--ro-bind", str(FORKED_SCRIPTS), "/tmp/forked_scripts.py",
            "--", python, "-I", "-S", "/tmp/runtime_zygote.py", str(listener_fd)]


def command(code_dir: Path, hosts: Path, info_fd: int, handler: str, forked_from: int | None = None) -> list[str]:
    """The runtime for `handler`: in the sandbox, in /var/task, in a network namespace of its own
    (localaws/functions/network.py wires it); bwrap writes the runtime's pid to `info_fd`. Given a connection to
    the runtime's zygote (`forked_from`, a file descriptor), the bootstrap asks it for the runtime first."""
    trust = str(certificates.bundle())
    python, _ = interpreter()
    args = [*_sandbox(), "--info-fd", str(info_fd), "--tmpfs", "/etc"]
    for entry in sorted(os.listdir("/etc")):
        source = f"/etc/{entry}"
        if entry == "hosts":
            continue
        if os.path.islink(source):
            args += ["--symlink", os.readlink(source), source]
        else:
            args += ["--ro-bind", source, source]
    args += ["--ro-bind", str(hosts), "/etc/hosts"]
    for path in (*AMAZON_LINUX_CA_PATHS, default_trust_file()):
        args += ["--ro-bind", trust, path]
    args += [*_runtime_files(), "--ro-bind", str(code_dir), TASK_ROOT]
    # botocore's own bundle (the runtime has no certifi), and any the package ships.
    bundles = [f"{RUNTIME_ROOT}/botocore/cacert.pem"]
    bundles += [f"{TASK_ROOT}/{bundle}" for bundle in PACKAGED_CA_BUNDLES if (code_dir / bundle).is_file()]
    for bundle in bundles:
        args += ["--ro-bind", trust, bundle]
    forked = [] if forked_from is None else [FORKED_FROM, str(forked_from)]
    # /var read-only once its mount points are made, as the rest of the machine but /tmp: nothing writes bytecode
    # into /var/runtime (six.py is bound there without its compiled form).
    return args + ["--remount-ro", "/var", "--chdir", TASK_ROOT,
                   "--", python, "-I", "-S", f"{RUNTIME_ROOT}/bootstrap.py", *forked, TASK_ROOT, handler]
