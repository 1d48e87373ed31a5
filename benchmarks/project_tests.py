"""Print the wall time of the README's test command (what CI runs), and where it goes.

Usage: .venv/bin/python benchmarks/project_tests.py
Runs `bash scripts/test.sh` once, then reads its JUnit file: the total, the time per test
folder (the self-tests' broken-workshop runs overlap, so their per-case times add up to more
than the wall time they take), and the slowest cases. Beside the wall time, the CPU time of everything the run started
(user + system, its processes', the databases' and sandboxes' included): on this shared machine the wall time
follows the other sessions' load, the CPU time much less.
"""
from __future__ import annotations

import resource
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
JUNIT = ROOT / "reports" / "tests.xml"


def main() -> None:
    started = time.perf_counter()
    done = subprocess.run(["bash", "scripts/test.sh", "-q"], cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - started
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"scripts/test.sh failed:\n{done.stdout[-2000:]}")
    cases = [(float(case.get("time", 0)), f"{case.get('classname')}::{case.get('name')}")
             for case in ET.parse(JUNIT).getroot().iter("testcase")]
    folders: dict[str, float] = defaultdict(float)
    for seconds, name in cases:
        folders[".".join(name.split(".")[:2])] += seconds
    print(f"scripts/test.sh: {wall:.0f}s wall, {used.ru_utime + used.ru_stime:.0f}s CPU, {len(cases)} tests")
    for folder, seconds in sorted(folders.items(), key=lambda item: -item[1]):
        print(f"  {folder:<24} {seconds:7.1f}s")
    print("slowest:")
    for seconds, name in sorted(cases, reverse=True)[:8]:
        print(f"  {seconds:6.1f}s  {name}")


if __name__ == "__main__":
    main()
