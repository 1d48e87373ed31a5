"""Print the offline verification's time at two commits, measured in one run on this machine, and their ratio.

Usage: .venv/bin/python benchmarks/compare_commits.py BEFORE [AFTER] [--runs N] [--phases tests/rds,tests/app]
(AFTER defaults to the working tree.) This machine's speed drifts by a quarter within an hour, so the commits'
runs alternate (before, after, before, after, ...) and only the ratio of their medians is worth reporting.
Each commit is checked out into a git worktree beside the project (removed afterwards) and run with this
virtualenv's Python; by default the phases both commits have, so that a phase one of them adds is not counted.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from offline_phases import pytest_seconds  # noqa: E402 (beside this script)
from suite.report.phases import PHASES as PHASE_FOLDERS  # noqa: E402 (the project's root is on the path now)

PHASES = tuple(folder.rstrip("/") for folder in PHASE_FOLDERS.values())


def checkout(revision: str, parent: Path) -> Path:
    folder = parent / revision.replace("/", "_")
    subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(folder), revision], cwd=ROOT, check=True)
    for venv in (".venv-checkov",):  # the Template phase's checkov runs from the project's own
        if (ROOT / venv).exists():
            (folder / venv).symlink_to((ROOT / venv).resolve())
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after", nargs="?", help="a commit (default: the working tree)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--phases", help="comma-separated test folders (default: those both commits have)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix=".bench-", dir=ROOT.parent) as scratch:
        folders = {"before": checkout(args.before, Path(scratch))}
        folders["after"] = checkout(args.after, Path(scratch)) if args.after else ROOT
        try:
            phases = args.phases.split(",") if args.phases else [
                phase for phase in PHASES if all((folder / phase).is_dir() for folder in folders.values())]
            print(f"phases: {' '.join(phases)}; {args.runs} runs each, alternating")
            times: dict[str, list[tuple[float, float]]] = {"before": [], "after": []}
            for run in range(args.runs):
                for label, folder in folders.items():
                    times[label].append(pytest_seconds(phases, folder))
                    wall, own = times[label][-1]
                    print(f"  run {run + 1} {label:>6}: pytest {own:.1f} s (wall {wall:.1f} s)", flush=True)
        finally:
            for label, folder in folders.items():
                if folder != ROOT:
                    subprocess.run(["git", "worktree", "remove", "--force", str(folder)], cwd=ROOT, check=False)
    medians = {label: statistics.median(own for _, own in runs) for label, runs in times.items()}
    print(f"before ({args.before}): median {medians['before']:.1f} s of pytest")
    print(f"after ({args.after or 'working tree'}): median {medians['after']:.1f} s of pytest")
    print(f"after / before: {medians['after'] / medians['before']:.3f}")


if __name__ == "__main__":
    main()
