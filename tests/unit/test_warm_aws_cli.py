"""localaws.hosts.warm_cli: an instance's /usr/bin/aws is Debian's AWS CLI, started warm.

What it must keep: what Debian's /usr/bin/aws prints, on which stream, and its exit status, for a call that
succeeds, one the CLI refuses and one that fails on the network; the call's own arguments, environment, working
directory and standard input; a caller that is killed takes the CLI with it; a user is served by a daemon of its
own, never by another user's. What it saves: the CLI's import, once per daemon.
"""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import psutil
import pytest

from localaws.hosts import warm_cli
from localaws.hosts.sandbox import DEFAULT_PATH, Sandbox

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="sandboxes run as root")
# No credentials or region from this machine: a call's own environment says them. Without credentials in it (an
# instance's calls take its role's from its metadata), a daemon is forked from the local AWS's zygote (zygotes.py);
# with them, it starts in the sandbox.
WITHOUT_CREDENTIALS = {"PATH": DEFAULT_PATH, "HOME": "/root", "AWS_DEFAULT_REGION": "eu-west-1",
                       "AWS_MAX_ATTEMPTS": "1", "AWS_EC2_METADATA_DISABLED": "true"}
ENV = {**WITHOUT_CREDENTIALS, "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "x"}
# Debian's /usr/bin/aws, which the warm one hides in the sandbox: its code, as /tmp/debian-aws.
DEBIAN_AWS = "/tmp/debian-aws"
# Written in the sandbox first: Debian's CLI; an endpoint that takes requests and never answers them (each
# connection a line in /tmp/connections); a program that interrupts (SIGINT) a command once it is connected
# there, and another that waits for the next connection (a call in the middle of its request, whatever the load).
SETUP = """cat > /tmp/debian-aws <<'END'
#!/usr/bin/python3
import sys, awscli.clidriver
sys.argv[0] = "/usr/bin/aws"
sys.exit(awscli.clidriver.main())
END
chmod +x /tmp/debian-aws
cat > /tmp/daemons.py <<'END'
import os, pwd
found = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\\0")
        owner = pwd.getpwuid(os.stat(f"/proc/{pid}").st_uid).pw_name
    except OSError:
        continue
    if argv[:2] == [b"/usr/bin/python3", b"/run/localaws/aws-cli-daemon.py"]:
        # forked from a zygote: its environment is the one the CLI was imported with (no PATH)
        environ = open(f"/proc/{pid}/environ", "rb").read().split(b"\\0")
        origin = "started-here" if any(v.startswith(b"PATH=") for v in environ) else "forked"
        parent = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1]
        found.append(f"{owner} {argv[2].decode()} {origin} ppid={parent}")
for line in sorted(found):
    print(line)
END
cat > /tmp/never-answers.py <<'END'
import socket
server = socket.create_server(("127.0.0.1", 8999))
open("/tmp/listening", "w").close()
held = []
while True:
    held.append(server.accept()[0])
    with open("/tmp/connections", "a") as connections:
        connections.write("connected\\n")
END
cat > /tmp/next-connection.py <<'END'
import os, time
def count():
    return open("/tmp/connections").read().count("\\n") if os.path.exists("/tmp/connections") else 0
def wait_for_next(seen):
    deadline = time.monotonic() + 60
    while count() <= seen and time.monotonic() < deadline:
        time.sleep(0.05)
if __name__ == "__main__":
    wait_for_next(int(os.environ["SEEN"]))
END
cat > /tmp/interrupt.py <<'END'
import signal, subprocess, sys
sys.path.insert(0, "/tmp")
from importlib import import_module
waiting = import_module("next-connection")
seen = waiting.count()
call = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
waiting.wait_for_next(seen)
call.send_signal(signal.SIGINT)
print("interrupted status", call.wait())
END
"""
NEVER_ANSWERS = "python3 /tmp/never-answers.py & until [ -e /tmp/listening ]; do sleep 0.05; done; "
HANG = "secretsmanager list-secrets --endpoint-url http://127.0.0.1:8999 --cli-read-timeout 50"
# (environment of the call, arguments)
CALLS = (("", "--version"),
         ("", "configure list"),
         ("", "secretsmanager get-secret-value"),  # a required argument missing: usage on stderr, 252
         ("", "secretsmanager get-secret-value --secret-id smdemo --endpoint-url http://127.0.0.1:9"),  # refused: 255
         # parameters from stdin, then from a file named relative to the working directory, refused by the CLI's
         # validation, which prints them
         ("", "secretsmanager get-secret-value --cli-input-json file:///dev/stdin --endpoint-url http://127.0.0.1:9"),
         ("", "secretsmanager get-secret-value --cli-input-json file://input --endpoint-url http://127.0.0.1:9"),
         # a variable the CLI reads as it runs (the daemon started without it)
         ("HTTP_PROXY=http://127.0.0.1:7 ", "secretsmanager list-secrets --endpoint-url http://127.0.0.1:9"))
# The daemons in the sandbox: user and socket name (bwrap's own command line names the daemon's file too).
DAEMONS = "python3 /tmp/daemons.py"


@pytest.fixture(scope="module")
def instance_root(tmp_path_factory):
    box = Sandbox(tmp_path_factory.mktemp("warm-cli") / "root", hostname="warm-cli-unit").prepare()
    yield box
    box.remove()


def in_sandbox(box: Sandbox, script: str, env: dict[str, str] | None = None) -> str:
    done = box.run(["/bin/bash", "-c", SETUP + script], env or ENV, timeout=120, extra_binds=warm_cli.binds())
    return done.stdout.decode(errors="replace")


def outcome(command: str) -> str:
    """A call's stdout, stderr and status, told apart (the sandbox's own output is one stream)."""
    return (f"{command} </tmp/stdin >/tmp/out 2>/tmp/err; status=$?; "
            "echo \"[status $status]\"; echo '[stdout]'; cat /tmp/out; echo '[stderr]'; "
            "cat /tmp/err; echo '[end]'")


@pytest.mark.parametrize("environment", [ENV, WITHOUT_CREDENTIALS], ids=["daemon-started-here", "daemon-forked"])
def test_each_call_prints_and_ends_as_debians_cli(instance_root, environment):
    script = ["mkdir /tmp/cwd && cd /tmp/cwd && echo '{\"SecretId\": [\"from-stdin\"]}' > /tmp/stdin",
              "echo '{\"SecretId\": [\"from-the-working-directory\"]}' > input"]
    for env, arguments in CALLS:
        script += [outcome(f"{env}{DEBIAN_AWS} {arguments}"), outcome(f"{env}aws {arguments}"),
                   outcome(f"{env}aws {arguments}")]
    output = in_sandbox(instance_root, "\n".join(script) + f"\n{DAEMONS}", environment)
    results = output.split("[end]\n")[:-1]
    assert len(results) == 3 * len(CALLS), output
    daemons = output.split("[end]\n")[-1]
    assert ("forked" if environment is WITHOUT_CREDENTIALS else "started-here") in daemons, daemons
    assert "ppid=1" in daemons, daemons
    for index, (_, arguments) in enumerate(CALLS):
        debian, first, warm = results[3 * index:3 * index + 3]
        assert first == debian and warm == debian, f"aws {arguments}:\n{debian}\n---\n{first}\n---\n{warm}"
    # the CLI's own statuses, kept: a network that refuses (255), or no credentials to sign with (253)
    with_credentials = environment is ENV
    assert "[status 252]" in results[6] and ("[status 255]" if with_credentials else "[status 253]") in results[9]
    assert "eu-west-1" in results[3] and "from-stdin" in results[12]  # the call's environment and stdin
    assert "from-the-working-directory" in results[15]
    assert ("proxy" if with_credentials else "Unable to locate credentials") in results[18]


def test_a_user_runs_many_calls_on_one_daemon_and_another_user_gets_its_own(instance_root):
    """nobody, with root's environment (HOME included), is still a user of its own: a daemon of its own."""
    calls = "for i in 1 2 3; do aws --version >/dev/null; done"
    output = in_sandbox(instance_root, f"{calls}; setpriv --reuid=nobody --regid=nogroup --clear-groups "
                                       f"env HOME=/root bash -c '{calls}'; {DAEMONS}")
    assert [line.split()[0] for line in output.splitlines()] == ["nobody", "root"], output


def test_another_users_call_is_refused_by_a_daemon_and_runs_itself(instance_root):
    """nobody, knocking on root's daemon, is refused (the daemon serves its own user only): the call runs cold."""
    probe = """
import importlib.machinery, sys
aws = importlib.machinery.SourceFileLoader("aws", "/usr/bin/aws").load_module()
name, sys.argv = b"\\0" + sys.argv[1].encode(), ["aws", "--version"]
aws.daemon_name = lambda: name
print("warm status", aws.warm())
"""
    script = (f"cat > /tmp/probe.py <<'EOF'{probe}EOF\naws --version >/dev/null\n"
              f"name=$({DAEMONS} | cut -d' ' -f2)\n"
              "setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/bin/python3 /tmp/probe.py \"$name\" 2>&1")
    output = in_sandbox(instance_root, script)
    assert "warm status None" in output, output


def test_a_killed_caller_takes_its_cli_with_it(instance_root):
    """A call that hangs on an endpoint that never answers; its `aws` killed (SIGKILL): no CLI process is left.
    Sent SIGTERM instead, the CLI gets it and the caller ends by it, as Debian's would."""
    # hang: a call in the background ($caller), once it is connected
    hang = (f"hang() {{ seen=$(cat /tmp/connections 2>/dev/null | wc -l); aws {HANG} </dev/null & caller=$!; "
            "SEEN=$seen python3 /tmp/next-connection.py; }; ")
    script = (f"{hang}{NEVER_ANSWERS}aws --version >/dev/null; "
              f"hang; kill -KILL $caller; sleep 1; echo \"left: $({DAEMONS} | wc -l)\"; "
              "hang; kill -TERM $caller; wait $caller; echo \"term status $?\"")
    output = in_sandbox(instance_root, script)
    # the daemon, alone: no handler or CLI process of the killed call
    assert "left: 1" in output, output
    assert "term status 143" in output, output


def test_ctrl_c_reaches_the_cli_as_it_reaches_debians(instance_root):
    """SIGINT to a call in the middle of its request: the CLI's own KeyboardInterrupt handling decides its status,
    as for Debian's."""
    script = (f"{NEVER_ANSWERS}aws --version >/dev/null; "
              f"python3 /tmp/interrupt.py {DEBIAN_AWS} {HANG}; python3 /tmp/interrupt.py aws {HANG}")
    statuses = [line for line in in_sandbox(instance_root, script).splitlines() if line.startswith("interrupted")]
    assert len(statuses) == 2 and statuses[0] == statuses[1], statuses


def test_a_terminal_gets_debians_cli_itself(instance_root):
    """The CLI's pager and prompts want the controlling terminal: with one, no daemon is started."""
    output = in_sandbox(instance_root, f"script -qec 'aws --version' /dev/null; {DAEMONS}")
    assert output.startswith("aws-cli/") and output.strip().endswith("prompt/off"), output


def test_the_binds_name_the_files_the_stub_and_daemon_are():
    binds = dict((target, source) for source, target in warm_cli.binds())
    assert os.access(binds["/usr/bin/aws"], os.X_OK)
    assert f'DAEMON = "{warm_cli.DAEMON}"' in Path(binds["/usr/bin/aws"]).read_text()
    assert subprocess.run(["/usr/bin/python3", "-m", "py_compile", binds[warm_cli.DAEMON]]).returncode == 0


def zygotes() -> list[psutil.Process]:
    """The zygotes of this process's manager (localaws/hosts/warm_cli/zygotes.py)."""
    folder = str(warm_cli.binds()[-1][0])
    [manager] = [process for process in psutil.process_iter(["cmdline"])
                 if process.info["cmdline"] and process.info["cmdline"][-1] == f"{folder}/{warm_cli.SOCKET}"]
    return manager.children()


def test_sandboxes_share_a_zygote_per_loading_environment(instance_root, tmp_path):
    """Two sandboxes, root and nobody (another HOME) in each: two zygotes imported the CLI, not four daemons."""
    before = {process.pid for process in zygotes()}
    calls = ("aws --version >/dev/null; "
             "setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=/tmp aws --version")
    other = Sandbox(tmp_path / "other", hostname="warm-cli-other").prepare()
    try:
        for box in (instance_root, other):
            output = in_sandbox(box, f"{calls} >/dev/null; {DAEMONS}", WITHOUT_CREDENTIALS)
            assert [line.split()[::2] for line in output.splitlines()] == [["nobody", "forked"], ["root", "forked"]], \
                output
    finally:
        other.remove()
    new = [process for process in zygotes() if process.pid not in before]
    assert len(new) <= 2 and len(zygotes()) >= 2, [process.cmdline() for process in zygotes()]


@pytest.mark.parametrize("otherwise", [
    "rm -f /etc/localtime; cp /usr/share/zoneinfo/Asia/Tokyo /etc/localtime",  # read as the CLI loads
    "export PYTHONDONTWRITEBYTECODE=1",  # a zygote (outside) never takes what says where to read or write code
], ids=["own-time-zone", "python-variable"])
def test_a_caller_whose_interpreter_starts_otherwise_starts_its_daemon_itself(tmp_path, otherwise):
    """A zygote's interpreter would not be what starts there: the daemon is started in the sandbox."""
    box = Sandbox(tmp_path / "otherwise", hostname="warm-cli-otherwise").prepare()
    try:
        output = in_sandbox(box, f"{otherwise}; aws --version >/dev/null; {DAEMONS}", WITHOUT_CREDENTIALS)
    finally:
        box.remove()
    assert output.split()[::2] == ["root", "started-here"], output


def test_a_forked_daemon_is_in_its_callers_sandbox_as_its_user(instance_root):
    """Its namespaces, root, user, groups, capabilities, no-new-privileges flag (bwrap's) and resource limits (a login's
    lower ones here) are its caller's, as for a daemon started there."""
    facts = ("for kind in ipc mnt net pid uts; do readlink /proc/$1/ns/$kind; done; readlink /proc/$1/root "
             "/proc/$1/cwd; grep -E '^(Uid|Gid|Groups|Cap[A-Za-z]+|NoNewPrivs|Seccomp):' /proc/$1/status; "
             "cat /proc/$1/limits")
    script = (f"facts() {{ {facts}; }}; ulimit -Sn 1000 && ulimit -Hc 0 && cd / && aws --version >/dev/null && "
              f"daemon=$(pgrep -f '^/usr/bin/python3 /run/localaws/aws-cli-daemon.py') && {DAEMONS} && "
              "echo caller && facts $$ && echo daemon && facts $daemon")
    output = in_sandbox(instance_root, f"cat > /tmp/facts.sh <<'EOF'\n{script}\nEOF\n"
                                       "setpriv --reuid=nobody --regid=nogroup --groups=nogroup,users "
                                       "env HOME=/tmp bash /tmp/facts.sh", WITHOUT_CREDENTIALS)
    daemons, rest = output.split("caller\n")
    caller, daemon = rest.split("daemon\n")
    assert daemons.split()[::2] == ["nobody", "forked"], output
    assert caller == daemon and "NoNewPrivs:\t1" in daemon and "Groups:\t100 65534" in daemon, output
    assert re.search(r"Max open files +1000 ", daemon) and re.search(r"Max core file size +0 +0 ", daemon), output
