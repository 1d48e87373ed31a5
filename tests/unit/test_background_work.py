"""What lets the offline verification overlap its work: tools in the background (suite/background.py), the
order the phases run in, folders removed in the background (localaws/removals.py), and the listeners the
local AWS reads for "the internet" (localaws/network/addresses.py)."""
from __future__ import annotations

import os
import socket
import sys
import tempfile
import threading
from pathlib import Path

from localaws.network.addresses import internet_ports, ipv4_listeners
from localaws.removals import remove_later, wait_for_removals
from suite.background import IDLE_NICENESS, BackgroundProcess
from suite.report.phases import PHASES, RUN_ORDER


def test_a_background_process_runs_at_a_lower_priority_until_a_check_waits_for_it(tmp_path):
    go = tmp_path / "go"
    waiting = BackgroundProcess([sys.executable, "-c", (
        "import os, time\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.02)\n"
        "print(os.getpriority(os.PRIO_PROCESS, 0))")])
    assert os.getpriority(os.PRIO_PROCESS, waiting.process.pid) == IDLE_NICENESS
    threading.Timer(0.3, go.touch).start()
    done = waiting.output(timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, "0"), done.stderr  # at the normal priority once asked
    assert waiting.waited >= 0.2 and "the check waited" in waiting.said


def test_a_background_process_whose_output_outgrows_a_pipe_finishes_unread():
    big = BackgroundProcess([sys.executable, "-c", "import sys; sys.stdout.write('x' * 1_000_000)"])
    big.process.wait(timeout=60)  # a pipe would have stopped it at 64 KiB until someone read it
    assert len(big.output().stdout) == 1_000_000


def test_a_background_process_nobody_reads_is_stopped():
    idle = BackgroundProcess([sys.executable, "-c", "import time; time.sleep(60)"])
    idle.stop()
    assert idle.process.poll() is not None


def test_a_background_process_keeps_its_temporary_files_in_a_folder_removed_when_it_ends():
    """A tool's temporary files (checkov's parser cache, 240 KB at every scan) do not outlive it."""
    writer = BackgroundProcess([sys.executable, "-c", (
        "import tempfile\n"
        "handle, path = tempfile.mkstemp(prefix='.cache_')\n"
        "print(path)")], env={"PATH": "/usr/bin:/bin"})
    done = writer.output(timeout=60)
    written = Path(done.stdout.strip())
    assert done.returncode == 0 and written.name.startswith(".cache_"), done.stderr
    assert written.parent != Path(tempfile.gettempdir())  # a folder of its own, even with an environment given
    assert not written.parent.exists()


def test_the_phases_run_each_once_the_audit_last():
    assert sorted(RUN_ORDER) == sorted(PHASES)
    assert RUN_ORDER[-1] == "Audit"
    # the Template phase's tools run beside the deployed phases before it
    assert RUN_ORDER.index("Template") > max(RUN_ORDER.index(phase) for phase in ("RDS", "Fargate", "TLS user"))


def test_a_folder_removed_later_is_gone_from_its_path_at_once(tmp_path):
    folder = tmp_path / "sandbox"
    (folder / "etc").mkdir(parents=True)
    (folder / "etc" / "hosts").write_text("127.0.0.1 localhost\n")
    remove_later(folder)
    assert not folder.exists()
    folder.mkdir()  # its path is free again: a sandbox of the same name can be prepared
    wait_for_removals()
    assert [path.name for path in tmp_path.iterdir()] == ["sandbox"]
    remove_later(tmp_path / "never-there")  # nothing to do


def test_listeners_are_read_as_the_kernel_lists_them():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert ("127.0.0.1", port) in ipv4_listeners()
        assert port in internet_ports()
    assert ("127.0.0.1", port) not in ipv4_listeners()
