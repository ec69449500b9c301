"""Where the subset search's slot time goes: the quickstart's search run several times, and each run's split of
its slot-seconds (slots x search wall-clock) into selection + training + evaluation (the work) and the rest.

``--code DIR`` (repeatable) runs the same command in DIR with ``PYTHONPATH=DIR`` (the experiment path is taken
relative to each checkout), alternating between the checkouts run by run, so that two versions are measured
side by side on the same machine. Runs whose code does not report the split (``slot_use`` in summary.json)
still give the work share from the trials' own timings (with as many slots as this machine's CPUs hold trials).

    python benchmarks/bench_slots.py --repeats 3 --code ../before --code .
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from cords_tune.results.summary import RunSummary

PARTS = ("starting_s", "building_s", "reporting_s", "between_trials_s", "idle_s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="experiments/mnist1d.yaml")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--code", action="append", default=[], help="a checkout to run (PYTHONPATH); repeatable")
    parser.add_argument("--set", action="append", default=[], help="an extra --set for cords-tune run")
    args = parser.parse_args()
    checkouts = [str(Path(c).resolve()) for c in args.code] or [str(Path.cwd())]
    cli = str(Path(sys.executable).with_name("cords-tune"))
    rows: dict[str, list[dict[str, float]]] = {c: [] for c in checkouts}
    with tempfile.TemporaryDirectory() as out:
        for repeat in range(args.repeats):
            for checkout in checkouts:
                env = {**os.environ, "PYTHONPATH": checkout}
                command = [cli, "run", args.experiment, "--no-baseline", "--set", "final.enabled=false",
                           *[x for s in args.set for x in ("--set", s)], "--output", out]
                # From the checkout itself: Ray puts the driver's working directory first on its workers' path.
                subprocess.run(command, env=env, cwd=checkout, check=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
                newest = max(Path(out).iterdir(), key=lambda p: p.stat().st_mtime)
                row = _row(RunSummary.from_json(json.loads((newest / "summary.json").read_text())), newest)
                rows[checkout].append(row)
                print(f"run {repeat + 1}, {_label(checkout)}: " + ", ".join(f"{k} {v:.3g}" for k, v in row.items()),
                      flush=True)
    print(f"\n`python benchmarks/bench_slots.py --repeats {args.repeats}` ({args.experiment}, subset search only, "
          f"{os.cpu_count()} CPUs): medians (min-max)\n")
    keys = list(next(iter(rows.values()))[0])
    print("| code | " + " | ".join(keys) + " |")
    print("|---|" + "---|" * len(keys))
    for checkout, runs in rows.items():
        cells = []
        for key in keys:
            values = [r[key] for r in runs if key in r]
            cells.append(f"{statistics.median(values):.3g} ({min(values):.3g}-{max(values):.3g})" if values else "")
        print(f"| {_label(checkout)} | " + " | ".join(cells) + " |")


def _row(summary: RunSummary, run_dir: Path) -> dict[str, float]:
    work = summary.selection_s_total + summary.train_s_total + summary.eval_s_total
    used = summary.slot_use
    if used:
        slots = used.slots
    else:  # an older run: as many trials at once as this machine's CPUs hold
        resources = yaml.safe_load((run_dir / "config.yaml").read_text())["resources"]
        slots = min(summary.num_trials, int(os.cpu_count() / resources["cpus_per_trial"]))
    row = {"search_s": summary.tuning_wall_s, "slots": slots, "work_s": work,
           "overhead_share": 1 - work / (slots * summary.tuning_wall_s)}
    if used:
        row.update({key: getattr(used, key) for key in PARTS})
    return row


def _label(checkout: str) -> str:
    rev = subprocess.run(["git", "-C", checkout, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", checkout, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return f"{Path(checkout).name}@{rev.stdout.strip() or '?'}{'+' if dirty else ''}"


if __name__ == "__main__":
    main()
