"""What compiled bytecode saves: the quickstart's subset search with and without a bytecode cache.

Where PYTHONDONTWRITEBYTECODE is set (as on our CI and development machines), Python never writes .pyc files,
so without bytecode compiled at install time every process - each Ray trial worker and the retrain's worker -
compiles torch, Ray and the package from source when it starts. ``make install`` compiles it
(``uv pip install --compile-bytecode``). This runs the same command alternately with the compiled cache
and with Python pointed at an empty cache directory (PYTHONPYCACHEPREFIX), and prints the medians.

    python benchmarks/bench_startup.py --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cords_tune.results.summary import RunSummary

IMPORTS = "import torch, torch._dynamo, ray.tune, cords_tune.tuning.trainable"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="experiments/mnist1d.yaml")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cli = str(Path(sys.executable).with_name("cords-tune"))
    rows: dict[str, list[dict[str, float]]] = {"compiled bytecode": [], "no bytecode cache": []}
    with tempfile.TemporaryDirectory() as empty, tempfile.TemporaryDirectory() as out:
        for _ in range(args.repeats):
            for label, extra in (("compiled bytecode", {}), ("no bytecode cache", {"PYTHONPYCACHEPREFIX": empty})):
                env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **extra}
                tick = time.perf_counter()
                subprocess.run([sys.executable, "-c", IMPORTS], env=env, check=True)
                imports = time.perf_counter() - tick
                tick = time.perf_counter()
                subprocess.run([cli, "run", args.experiment, "--no-baseline", "--output", out], env=env, check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                command = time.perf_counter() - tick
                newest = max(Path(out).iterdir(), key=lambda p: p.stat().st_mtime)
                summary = RunSummary.from_json(json.loads((newest / "summary.json").read_text()))
                rows[label].append({"imports in a new process": imports, "command": command,
                                    "tuning": summary.tuning_wall_s, "final retrain": summary.timings.final_wall_s})
    print(f"`python benchmarks/bench_startup.py --repeats {args.repeats}` ({args.experiment}, subset search only); "
          "medians in seconds\n")
    keys = list(next(iter(rows.values()))[0])
    print("| | " + " | ".join(keys) + " |")
    print("|---|" + "---|" * len(keys))
    for label, runs in rows.items():
        print(f"| {label} | " + " | ".join(f"{statistics.median(r[k] for r in runs):.1f}" for k in keys) + " |")


if __name__ == "__main__":
    main()
