"""One selection by every registered strategy on the quickstart data, the figures `cords-tune strategies`
shows: writes ``cords_tune/selection/costs.json`` (measure alone on the machine).

    python benchmarks/bench_selection_cost.py experiments/mnist1d.yaml --write
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from cords_tune.config import load_config
from cords_tune.preflight import load_and_check
from cords_tune.selection import STRATEGIES
from cords_tune.training.measure import measure_selection_costs

RECORD = Path(__file__).parents[1] / "cords_tune" / "selection" / "costs.json"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write", action="store_true", help=f"write the figures to {RECORD.name} in the package")
    args = parser.parse_args(argv)
    config = load_config(args.experiment)
    costs = measure_selection_costs(config, load_and_check(config), STRATEGIES.names(), repeats=args.repeats)
    print(f"# {costs.experiment}: {costs.samples} training samples, fraction {costs.fraction:g}; {costs.machine}")
    print("| strategy | one selection, s (median) | subset size |")
    print("|---|---|---|")
    for cost in costs.costs:
        print(f"| {cost.strategy} | {cost.seconds:.4f} | {cost.size} |")
    print(f"\nshared strategies' proxy: {costs.proxy_epochs} epochs on the full data, {costs.proxy_s:.2f} s")
    if args.write:
        RECORD.write_text(json.dumps(costs.as_dict(), indent=1) + "\n")
        print(f"written to {RECORD}")


if __name__ == "__main__":
    main()
