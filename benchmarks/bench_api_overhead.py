"""The Python API against the CLI on the same experiment: does ``cords_tune.run`` cost anything more?

Runs ``cords-tune run EXPERIMENT --no-baseline`` and ``python -c "cords_tune.run(EXPERIMENT, baseline=False)"``
in turns (CLI first, then the API, ``--rounds`` times), each in its own process with its own private Ray, and
prints per round the process wall-clock and what the run's summary.json says (tuning and end-to-end
wall-clock, Ray start), then the medians and the API / CLI ratio of each. Nothing else should run on the
machine meanwhile.

    python benchmarks/bench_api_overhead.py experiments/mnist1d.yaml --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cords_tune.results.summary import RunSummary

API = "import sys, cords_tune; cords_tune.run(sys.argv[1], baseline=False, output_dir=sys.argv[2])"
FIELDS = ("process_s", "tuning_wall_s", "end_to_end_wall_s", "ray_start_s")


def one_run(how: str, experiment: str, output: Path) -> dict[str, float]:
    bin_dir = Path(sys.executable).parent
    command = ([str(bin_dir / "cords-tune"), "run", experiment, "--no-baseline", "--output", str(output)]
               if how == "cli" else [sys.executable, "-c", API, experiment, str(output)])
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    process_s = time.perf_counter() - started
    (run_dir,) = output.iterdir()
    summary = RunSummary.from_json(json.loads((run_dir / "summary.json").read_text()))
    return {"process_s": process_s, "tuning_wall_s": summary.tuning_wall_s,
            "end_to_end_wall_s": summary.end_to_end_wall_s, "ray_start_s": summary.timings.ray_start_s,
            "test_accuracy": summary.final.test_accuracy}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print(f"# {platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d %H:%M')}", flush=True)
    rows: dict[str, list[dict[str, float]]] = {"cli": [], "api": []}
    with tempfile.TemporaryDirectory() as scratch:
        for round_ in range(1, args.rounds + 1):
            for how in ("cli", "api"):
                row = one_run(how, args.experiment, Path(scratch) / f"{how}-{round_}")
                rows[how].append(row)
                print(f"round {round_} {how}: " + ", ".join(f"{k} {v:.2f}" for k, v in row.items()), flush=True)
    print("\n| quantity | CLI (median) | API (median) | API / CLI |\n|---|---|---|---|")
    for field in FIELDS:
        cli = statistics.median(r[field] for r in rows["cli"])
        api = statistics.median(r[field] for r in rows["api"])
        print(f"| {field} | {cli:.1f} s | {api:.1f} s | {api / cli:.3f} |")


if __name__ == "__main__":
    main()
