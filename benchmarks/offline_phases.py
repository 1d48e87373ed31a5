"""Print the offline verification's wall time, phase by phase, server start-ups included.

Usage: .venv/bin/python benchmarks/offline_phases.py [runs]
Each run is a fresh pytest process per phase (local AWS, MariaDB, deploy, the phase's checks,
teardown), then one run of all phases together, as scripts/verify-offline.sh runs them.
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from suite.report.phases import PHASES as PHASE_FOLDERS  # noqa: E402 (the project's root is on the path now)

PHASES = {phase: [folder.rstrip("/")] for phase, folder in PHASE_FOLDERS.items()}
PHASES["all phases"] = [folder for folders in PHASES.values() for folder in folders]


def pytest_seconds(paths: list[str], folder: Path = ROOT) -> tuple[float, float]:
    """(wall time, pytest's own time) of one offline run of `paths` in `folder`; a failed run ends the benchmark."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-m", "offline", *paths, "-q", "-p", "no:cacheprovider"],
                          cwd=folder, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"the offline run of {' '.join(paths)} in {folder} failed:\n{done.stdout[-2000:]}")
    said = [line for line in done.stdout.splitlines() if " passed" in line and " in " in line]
    return wall, float(said[-1].rsplit(" in ", 1)[1].split("s")[0]) if said else wall


def one_run(paths: list[str]) -> float:
    return pytest_seconds(paths)[0]


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    for phase, paths in PHASES.items():
        if not all((ROOT / path).is_dir() for path in paths):
            continue
        times = [one_run(paths) for _ in range(runs)]
        print(f"{phase:>10}: {', '.join(f'{t:.1f}s' for t in times)}  "
              f"(median {statistics.median(times):.1f}s, best {min(times):.1f}s)")


if __name__ == "__main__":
    main()
