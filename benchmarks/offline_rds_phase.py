"""Print the offline RDS phase's wall time, server start-ups included.

Usage: .venv/bin/python benchmarks/offline_rds_phase.py [runs]
Each run is a fresh pytest process (local AWS, MariaDB, deploy, the 8 checks, teardown).
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one_run() -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-m", "offline", "tests/rds", "-q", "-p", "no:cacheprovider"],
                          cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"the offline RDS phase failed:\n{done.stdout[-2000:]}")
    return elapsed


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    times = [one_run() for _ in range(runs)]
    print(f"offline RDS phase, {runs} runs: " + ", ".join(f"{t:.1f}s" for t in times))
    print(f"median {statistics.median(times):.1f}s, best {min(times):.1f}s (target: under 20 s on 2 cores)")


if __name__ == "__main__":
    main()
