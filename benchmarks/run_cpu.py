"""Print where the CPU of one offline run goes, by process: the suite's pytest, the local AWS, the hosts' tools.

Usage: .venv/bin/python benchmarks/run_cpu.py [runs] [--timeline] [-- pytest arguments]
Default run: the RDS phase's rotation check alone (a deployment, a rotation, a teardown), as most of the
self-tests' broken-workshop runs are. CPU, unlike wall time, hardly moves with the machine's load: the
figure to compare before and after a change when other work shares the machine. The process tree is
sampled every 50 ms (psutil); a process that lives less than that is missed.
With --timeline it also prints, second by second, the CPU each group used in the last run: where the run keeps
both cores busy (and a cut there pays) and where it waits on a serial chain.
With LOCALAWS_CPU_PROFILE=FILE the local AWS also writes a cProfile of its threads' CPU to FILE
(localaws/server_process.py); read it with `python -m pstats FILE`.
"""
from __future__ import annotations

import collections
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ["-m", "offline", "tests/rds", "-k", "test_rotation_completes"]
# A process is counted under the first of these its command line contains.
GROUPS = ("localaws.server_process", "checkov", "linters cfn-lint", "pytest", "bootstrap.py", "web_app.py", "mariadbd",
          "ssh-keygen", "sshd", "bin/aws", "dockerd", "bwrap", "nsenter", "cloud-init")
Timeline = dict[int, dict[str, float]]  # second of the run -> CPU seconds by group


def group_of(process: psutil.Process) -> str | None:
    """Its group, from its command line; None once it has none left to read (a zombie)."""
    command = " ".join(process.cmdline())
    return next((group for group in GROUPS if group in command), process.name()) if command else None


def one_run(arguments: list[str]) -> tuple[float, dict[str, float], Timeline]:
    """(wall seconds, CPU seconds by group, and by group in each second) of one pytest run."""
    seen: dict[tuple[int, float], list] = {}
    timeline: Timeline = collections.defaultdict(lambda: collections.defaultdict(float))
    started = time.perf_counter()
    run = subprocess.Popen([sys.executable, "-m", "pytest", *arguments, "-q", "-p", "no:cacheprovider"], cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    root = psutil.Process(run.pid)
    while run.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            tree = []
        for process in tree:
            try:
                with process.oneshot():
                    key = (process.pid, process.create_time())
                    times = process.cpu_times()
                    # Labelled again each time: a process first seen between its fork and its exec is its
                    # parent's image until then (a forked server looked like pytest).
                    group = group_of(process) or (seen[key][0] if key in seen else process.name())
                    used = times.user + times.system
                    timeline[int(time.perf_counter() - started)][group] += used - (seen[key][1] if key in seen else 0.0)
                    seen[key] = [group, used]
            except psutil.Error:
                continue
        time.sleep(0.05)
    wall = time.perf_counter() - started
    if run.returncode != 0:
        sys.exit(f"the run failed (exit {run.returncode}): pytest {' '.join(arguments)}")
    groups: dict[str, float] = collections.defaultdict(float)
    for group, cpu in seen.values():
        groups[group] += cpu
    return wall, groups, timeline


def print_timeline(timeline: Timeline, columns: int = 7) -> None:
    """CPU seconds per second of the run: in all, and for the groups that used the most."""
    used: dict[str, float] = collections.defaultdict(float)
    for by_group in timeline.values():
        for group, cpu in by_group.items():
            used[group] += cpu
    top = sorted(used, key=lambda group: -used[group])[:columns]
    print("second   all  " + " ".join(f"{group[:12]:>12}" for group in top))
    for second in sorted(timeline):
        print(f"{second:6d} {sum(timeline[second].values()):5.2f}  "
              + " ".join(f"{timeline[second].get(group, 0.0):12.2f}" for group in top))


def main() -> None:
    arguments = sys.argv[1:]
    extra = arguments[arguments.index("--") + 1:] if "--" in arguments else []
    counted = [argument for argument in (arguments[:arguments.index("--")] if "--" in arguments else arguments)]
    timeline_asked = "--timeline" in counted
    counted = [argument for argument in counted if argument != "--timeline"]
    runs = int(counted[0]) if counted else 3
    results = [one_run(extra or DEFAULT) for _ in range(runs)]
    totals = [sum(groups.values()) for _, groups, _ in results]
    print(f"runs: {runs}; wall {statistics.median(wall for wall, _, _ in results):.1f} s, "
          f"CPU {statistics.median(totals):.2f} s (median; each: {', '.join(f'{total:.2f}' for total in totals)})")
    names = sorted({name for _, groups, _ in results for name in groups},
                   key=lambda name: -statistics.median(groups.get(name, 0.0) for _, groups, _ in results))
    for name in names:
        cpu = statistics.median(groups.get(name, 0.0) for _, groups, _ in results)
        if cpu >= 0.01:
            print(f"  {cpu:6.2f} s  {name}")
    if timeline_asked:
        print_timeline(results[-1][2])


if __name__ == "__main__":
    main()
