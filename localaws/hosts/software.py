"""What software an EC2 instance has: Amazon Linux 2023's, and what its user data installs.

AWS: the AL2023 AMI comes with the AWS CLI v2, OpenSSH, sudo (ec2-user may use it without a
password), curl, tar, python3, cloud-init and the SSM Agent; the MariaDB client, jq, Docker and
the rest come from `dnf install`, which without `-y` asks and, with no terminal, aborts; a name no
repository has fails ("Error: Unable to find a match: NAME"). Until it is installed, a command is
simply not there ("command not found", exit 127).
Here an instance's sandbox sees this machine's /usr, so the commands a dnf package would bring are
hidden behind a gate each (bound over the real file) until a `dnf` stand-in (this instance's
/usr/local/bin, empty on AL2023 otherwise) records the package as installed; the gate then runs
the real command. The AWS CLI is this machine's (Debian's awscli, the same v2 CLI), trusting
the local AWS's CA because the instance's trust store holds it (localaws/ext/ec2_hosts.py), and started warm:
forked from a process that imported it once (localaws/hosts/warm_cli).
"""
from __future__ import annotations

import shlex
from pathlib import Path

from localaws.hosts import warm_cli
from localaws.system_tools import MissingSystemTool

INSTALLED = "/etc/localaws-installed-packages"  # the instance's package database, in its own /etc
REAL = "/run/localaws/packages"  # where a gated command's real file is, inside the sandbox
# AL2023 packages `dnf install` can add: the files on this machine that stand in for their commands.
PACKAGES: dict[str, tuple[str, ...]] = {
    "mariadb105": ("/usr/bin/mariadb",),  # /usr/bin/mysql is a link to it
    "jq": ("/usr/bin/jq",),
    "docker": (),  # the docker command is the local AWS's own (localaws/hosts/docker_cli.py), in /usr/local/bin
    # Not gated: /usr/bin/python3 (the AWS CLI's) is a link to it on this machine, so it is there before.
    "python3.11": (),
}
# What installing a package does besides its files (Docker's package adds the docker group).
POST_INSTALL = {"docker": "getent group docker >/dev/null || groupadd --system docker"}
DOCKER_CLI = "/run/localaws/docker-cli.py"
DOCKER_SOCKET = "/run/docker.sock"
SERVICES = "/run/localaws/services"  # a running service's mark (systemctl's stand-in writes it)
# On the AMI already: `dnf install` says so and succeeds.
PREINSTALLED = ("awscli-2", "openssh-clients", "openssh-server", "sudo", "curl", "curl-minimal", "tar", "gzip",
                "python3", "bash", "coreutils", "findutils", "grep", "sed", "shadow-utils", "util-linux",
                "cloud-init", "amazon-ssm-agent", "systemd", "dnf")

# What the instances' AMI software is on this machine: the file, and the Debian package that has it.
SYSTEM_FILES = (("/usr/bin/aws", "awscli"), ("/usr/lib/python3/dist-packages/certifi", "python3-certifi"),
                ("/usr/bin/sudo", "sudo"), ("/usr/bin/curl", "curl"))


def require_system_files() -> None:
    """The AL2023 software instances have, as this machine's packages (the CLI must be Debian's: a
    Python environment of this machine's own is not visible inside an instance)."""
    for path, package in SYSTEM_FILES:
        if not Path(path).exists():
            raise MissingSystemTool(f"{path} not found (EC2 instances of the local AWS use it): install the Debian "
                                    f"package '{package}' (apt-get install {package}), or run scripts/setup.sh")


DNF = """#!/bin/bash
# Amazon Linux's dnf, as far as instances of the local AWS need it: install only.
set -uo pipefail
installed={installed}
known=({known})
preinstalled=({preinstalled})
assume_yes=no
command=""
packages=()
for argument in "$@"; do
  case "${{argument}}" in
    -y|--assumeyes) assume_yes=yes ;;
    -q|--quiet|--setopt=*|--releasever=*|--nogpgcheck) ;;
    -*) ;;
    *) if [ -z "${{command}}" ]; then command="${{argument}}"; else packages+=("${{argument}}"); fi ;;
  esac
done
case "${{command}}" in
  install) ;;
  clean|makecache|check-update) exit 0 ;;
  *) echo "local AWS: dnf ${{command}} is not emulated (only install)" >&2; exit 1 ;;
esac
[ "$(id -u)" -eq 0 ] || {{
  echo "Error: This command has to be run with superuser privileges (under the root user on most systems)." >&2
  exit 1
}}
missing=()
for package in "${{packages[@]}}"; do
  if [[ " ${{preinstalled[*]}} " == *" ${{package}} "* ]] ||
     grep -qxF -- "${{package}}" "${{installed}}" 2>/dev/null; then
    echo "Package ${{package}} is already installed."
  elif [[ " ${{known[*]}} " != *" ${{package}} "* ]]; then
    echo "No match for argument: ${{package}}"
    missing+=("${{package}}")
  fi
done
if [ "${{#missing[@]}}" -gt 0 ]; then
  echo "Error: Unable to find a match: ${{missing[*]}}" >&2
  exit 1
fi
if [ "${{assume_yes}}" != yes ]; then
  echo "Is this ok [y/N]: Operation aborted."
  exit 1
fi
for package in "${{packages[@]}}"; do
  grep -qxF -- "${{package}}" "${{installed}}" 2>/dev/null || echo "${{package}}" >> "${{installed}}"
  case "${{package}}" in
{post_install}
  esac
  echo "Installed: ${{package}}"
done
echo "Complete!"
"""

SYSTEMCTL = """#!/bin/bash
# systemd's systemctl, for the services instances of the local AWS have: docker (once installed).
set -uo pipefail
action="${{1:-}}"
shift || true
now=no
units=()
for argument in "$@"; do
  case "${{argument}}" in
    --now) now=yes ;;
    -*) ;;
    *) units+=("${{argument%.service}}") ;;
  esac
done
for unit in "${{units[@]}}"; do
  if [ "${{unit}}" != docker ] || ! grep -qxF docker {installed} 2>/dev/null; then
    echo "Failed to ${{action}} unit: Unit file ${{unit}}.service does not exist." >&2
    exit 1
  fi
  case "${{action}}" in
    start|restart) mkdir -p {services} && touch {services}/"${{unit}}" ;;
    enable) [ "${{now}}" = yes ] && mkdir -p {services} && touch {services}/"${{unit}}"
            echo "Created symlink /etc/systemd/system/multi-user.target.wants/${{unit}}.service." ;;
    stop) rm -f {services}/"${{unit}}" ;;
    is-active) if [ -e {services}/"${{unit}}" ]; then echo active; else echo inactive; exit 3; fi ;;
    *) echo "local AWS: systemctl ${{action}} is not emulated" >&2; exit 1 ;;
  esac
done
"""

DOCKER = """#!/bin/sh
# docker comes with the docker package: there only once `dnf install docker` has run.
if grep -qxF docker {installed} 2>/dev/null; then exec /usr/bin/python3 {cli} "$@"; fi
echo "-bash: docker: command not found" >&2
exit 127
"""

GATE = """#!/bin/sh
# {command} comes with the {package} package: there only once `dnf install {package}` has run.
if grep -qxF {package} {installed} 2>/dev/null; then exec {real} "$@"; fi
echo "-bash: $(basename "$0"): command not found" >&2
exit 127
"""


def prepare(directory: Path, docker_socket: Path) -> list[tuple[str, str]]:
    """Write the stand-ins under `directory`; the sandbox's read-only binds that put them in place
    (`docker_socket`: the instance's Docker engine, localaws/hosts/docker_engine.py)."""
    tools = directory / "usr-local-bin"
    gates = directory / "gates"
    tools.mkdir(parents=True, exist_ok=True)
    gates.mkdir(exist_ok=True)
    installed = shlex.quote(INSTALLED)
    post_install = "".join(f"    {package}) {command} ;;\n" for package, command in POST_INSTALL.items())
    scripts = {"dnf": DNF.format(installed=installed, known=" ".join(PACKAGES), preinstalled=" ".join(PREINSTALLED),
                                 post_install=post_install.rstrip("\n")),
               "systemctl": SYSTEMCTL.format(installed=installed, services=SERVICES),
               "docker": DOCKER.format(installed=installed, cli=DOCKER_CLI)}
    for name, text in scripts.items():
        (tools / name).write_text(text)
        (tools / name).chmod(0o755)
    binds = [(str(tools), "/usr/local/bin"), (str(Path(__file__).with_name("docker_cli.py")), DOCKER_CLI),
             (str(docker_socket), DOCKER_SOCKET), *warm_cli.binds()]
    for package, files in PACKAGES.items():
        for path in files:
            if not Path(path).exists():
                continue
            name = Path(path).name
            real = f"{REAL}/{name}"
            gate = gates / name
            gate.write_text(GATE.format(command=name, package=package, installed=shlex.quote(INSTALLED),
                                        real=shlex.quote(real)))
            gate.chmod(0o755)
            binds += [(path, real), (str(gate), path)]
    return binds
