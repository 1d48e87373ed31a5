"""Print how often the App phase passes when run again and again, and how long each run takes.

Usage: .venv/bin/python benchmarks/app_phase_repeat.py [runs] [--load N] [-k EXPRESSION] [--keep DIR]
                                                        [--beside]

Each run is a fresh `pytest -m offline tests/app` process (local AWS, MariaDB, deploy, the App
phase's checks, teardown), one after the other. `--beside` runs the RDS, Fargate and TLS user phases too, so
that the App lab's lesson runs beside them (suite/beside.py), as in the whole offline verification. `--load N`
keeps N busy loops running for the whole measurement (each bounded by `timeout`, and stopped at the end), as
other work on a shared machine does. For a run that did not pass, its last lines and its report are kept in DIR
(default: a fresh folder under /tmp), and which checks failed is printed.
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def busy_loops(count: int, seconds: int) -> list[subprocess.Popen]:
    """`count` processes that each keep one core busy for at most `seconds`."""
    return [subprocess.Popen(["timeout", str(seconds), "sh", "-c", "while :; do :; done"], start_new_session=True)
            for _ in range(count)]


def stop(loops: list[subprocess.Popen]) -> None:
    for loop in loops:
        try:
            os.killpg(loop.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        loop.wait()


def failed_checks(junit: Path) -> list[str]:
    if not junit.exists():
        return ["(no JUnit file: the run stopped early)"]
    return [case.get("name", "?") for case in ET.parse(junit).getroot().iter("testcase")
            if case.find("failure") is not None or case.find("error") is not None]


BESIDE = ["tests/rds", "tests/fargate", "tests/tls_user"]  # the phases the App lab's lesson runs beside


def one_run(number: int, keep: Path, expression: str | None, beside: bool = False) -> tuple[bool, float, list[str]]:
    junit = keep / f"run{number:03d}.xml"
    html = keep / f"run{number:03d}.html"
    command = [sys.executable, "-m", "pytest", "-m", "offline", *(BESIDE if beside else []), "tests/app", "-q",
               "-p", "no:cacheprovider", f"--junitxml={junit}", f"--html={html}", "--self-contained-html"]
    if expression:
        command += ["-k", expression]
    started = time.perf_counter()
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as run:
        try:
            stdout, stderr = run.communicate()
        except BaseException:  # interrupted: pytest tears its stack and servers down on SIGINT, not on a kill
            run.send_signal(signal.SIGINT)
            run.communicate(timeout=180)
            raise
    done = subprocess.CompletedProcess(command, run.returncode, stdout, stderr)
    took = time.perf_counter() - started
    failed = failed_checks(junit) if done.returncode != 0 else []
    if done.returncode == 0:
        html.unlink(missing_ok=True)
        junit.unlink(missing_ok=True)
    else:
        (keep / f"run{number:03d}.out").write_text(done.stdout[-20000:] + done.stderr[-5000:])
        failed = failed or [f"(exit {done.returncode})"]
    return done.returncode == 0, took, failed


def interrupted(number: int, frame) -> None:
    raise KeyboardInterrupt(f"signal {number}")


def main() -> None:
    signal.signal(signal.SIGTERM, interrupted)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=int, nargs="?", default=10)
    parser.add_argument("--load", type=int, default=0, help="busy loops running meanwhile")
    parser.add_argument("-k", dest="expression", help="pytest -k, e.g. get-secret")
    parser.add_argument("--keep", type=Path, help="where failed runs' output and reports go")
    parser.add_argument("--beside", action="store_true", help="with the phases the lesson runs beside")
    options = parser.parse_args()
    keep = options.keep or Path(tempfile.mkdtemp(prefix="app-phase-repeat-"))
    keep.mkdir(parents=True, exist_ok=True)
    loops = busy_loops(options.load, seconds=options.runs * 300)
    outcomes: list[tuple[bool, float]] = []
    loads: list[float] = []  # the 1-minute load average after each run (other work on the machine counts too)
    failures: Counter[str] = Counter()
    began = time.perf_counter()
    try:
        for number in range(1, options.runs + 1):
            passed, took, failed = one_run(number, keep, options.expression, options.beside)
            outcomes.append((passed, took))
            failures.update(failed)
            loads.append(os.getloadavg()[0])
            print(f"run {number:3d}: {'passed' if passed else 'FAILED'} in {took:5.1f}s, load {loads[-1]:.1f}"
                  f"{'' if passed else ': ' + ', '.join(failed)}", flush=True)
    finally:
        stop(loops)
    times = [took for _, took in outcomes]
    passed_runs = sum(1 for ok, _ in outcomes if ok)
    print(f"App phase{' beside RDS, Fargate and TLS user' if options.beside else ''}: {passed_runs} of "
          f"{len(outcomes)} runs passed, {options.load} busy loop(s) meanwhile on "
          f"{os.cpu_count()} cores; {time.perf_counter() - began:.0f}s in all")
    if times:
        print(f"per run: median {statistics.median(times):.1f}s, best {min(times):.1f}s, worst {max(times):.1f}s; "
              f"load average after each run: median {statistics.median(loads):.1f}, {min(loads):.1f} to "
              f"{max(loads):.1f}")
    for name, count in failures.most_common():
        print(f"  failed {count}x: {name}")
    if failures:
        print(f"failed runs' output and reports: {keep}")
    elif options.keep is None and not any(keep.iterdir()):
        keep.rmdir()  # the folder made for failed runs, none failed: nothing of the measurement is left behind


if __name__ == "__main__":
    main()
