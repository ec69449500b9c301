"""``cords-tune fidelity``: rank fidelity measured in a run directory of its own (the measure itself is
``cords_tune.tuning.fidelity``'s)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from cords_tune.config import ExperimentConfig
from cords_tune.errors import ConfigError, RunInterruptedError
from cords_tune.reports import write_json_atomic
from cords_tune.reports.plots import plot_fidelity
from cords_tune.results.fidelity import Fidelity
from cords_tune.runs.context import Command, open_run
from cords_tune.selection import plan_for
from cords_tune.tuning.fidelity import build_fidelity, sample_configs, train_configs
from cords_tune.tuning.progress import Progress
from cords_tune.tuning.search import full_data_variant
from cords_tune.tuning.shared_subset import shared_subset_for

__all__ = ["FidelityResult", "measure_fidelity"]


@dataclass(frozen=True)
class FidelityResult:
    """A fidelity run: its directory and what it measured (its fidelity.json)."""

    run_dir: Path
    fidelity: Fidelity



def measure_fidelity(
    config: ExperimentConfig,
    count: int,
    *,
    output_dir: str | Path | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    address: str | None = None,
    on_notice: Callable[[str], None] | None = None,
) -> FidelityResult:
    """Sample ``count`` configurations, train each on subsets and on the full data, write ``fidelity.json``
    and ``fidelity.png`` into a new ``<output_dir>/<name>-fidelity-<time>`` directory."""
    import ray

    if count < 2:
        raise ConfigError(f"--configs must be at least 2 to compare rankings; got {count}")
    if not plan_for(config.selection).uses_subsets:
        raise ConfigError("rank fidelity compares subsets with the full data, but selection.strategy is 'full'. "
                          "Pick a subset strategy (e.g. gradmatch)", path="selection.strategy")
    points = sample_configs(config, count)
    with open_run(config, command=Command.FIDELITY, output_dir=output_dir, address=address,
                  on_notice=on_notice) as run:
        started = run.started + run.timings.data_load_s  # the measure's time, from the data loaded on
        config, run_dir, data_ref = run.config, run.run_dir, run.data_ref
        try:
            chosen = shared_subset_for(config, data_ref, None, run_dir)
            shared = chosen[0] if chosen else None
            results = train_configs({"subset": config, "full": full_data_variant(config)}, points, data_ref,
                                    on_progress, shared={"subset": ray.put(shared.subsets)} if shared else None)
        except KeyboardInterrupt:
            raise RunInterruptedError(f"interrupted; the fidelity run in {run_dir} is incomplete. Run it again "
                                      "to measure it") from None
    fidelity = replace(build_fidelity(config, points, results["subset"], results["full"], shared),
                       wall_s=time.perf_counter() - started)
    plot_fidelity(fidelity, run_dir / "fidelity.png")
    write_json_atomic(run_dir / "fidelity.json", fidelity.to_json())
    return FidelityResult(run_dir=run_dir, fidelity=fidelity)
