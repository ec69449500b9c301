"""Notes on an experiment that is valid but would do less than its author likely meant. `validate` and `run`
say them before anything starts; they never stop a run."""

from __future__ import annotations

import math

from cords_tune.config import ExperimentConfig
from cords_tune.selection import plan_for

__all__ = ["experiment_notes"]


def experiment_notes(config: ExperimentConfig, samples: int | None = None) -> list[str]:
    """What in ``config`` is likely a mistake, in words (empty when nothing is). ``samples``: the training
    samples of its data, where loaded (the cost guard's note needs them)."""
    notes = []
    search, selection = config.search, config.selection
    if not search.space and search.num_trials > 1:
        notes.append(f"search.space is empty: the {search.num_trials} trials would all train the same configuration "
                     "with the same seed. Add the parameters to tune to search.space, or train the configuration "
                     "once with `cords-tune train`")
    plan = plan_for(selection)
    searched = {"selection.every", "selection.warm_start_epochs"} & set(search.space)
    if (plan.needs_gradients and not plan.shared and not searched and selection.warm_start_epochs == 0
            and selection.every >= config.training.epochs):
        notes.append(f"selection.every ({selection.every}) is not below training.epochs ({config.training.epochs}): "
                     f"{selection.strategy} would never select. A trial starts from a random subset (an untrained "
                     "network's gradients say little) and selects by gradients from its first reselection, which "
                     "would come after its last epoch. Set selection.every below training.epochs")
    if not plan.sized_by_budget and plan.uses_subsets and "selection.fraction" in search.space:
        notes.append(f"search.space searches selection.fraction, which {selection.strategy} ignores (it sizes its "
                     "subsets itself): the trials would differ in nothing there. Search its own parameters instead "
                     "(selection.params.*; `cords-tune strategies` lists them)")
    fallback = _likely_fallback(config, samples) if samples else None
    if fallback:
        notes.append(fallback)
    return notes


def _likely_fallback(config: ExperimentConfig, samples: int) -> str | None:
    """A note where the cost guard will likely switch the trials to random subsets, estimated from the costs measured
    on the quickstart data (``costs.json``): the share of a selection cycle the strategy took there (one selection
    against a full-data epoch) at this experiment's ``every`` and ``fraction`` is above ``max_cost_share``, and its
    selections, scaled to ``samples``, add up to more than ``min_cost_s``. The run decides from its own measurement
    (``training.cost_guard``); this is the estimate available before one."""
    from cords_tune.selection.cost import recorded_costs
    from cords_tune.training.cost_guard import gradient_selections, is_guarded

    selection = config.selection
    if (not is_guarded(config) or {"selection.every", "selection.fraction"} & set(config.search.space)
            or not gradient_selections(config)):
        return None
    recorded = recorded_costs()
    measured = recorded.cost_of(selection.strategy) if recorded else None
    if measured is None or recorded.proxy_s <= 0:
        return None
    # One selection in full-data epochs (a candidate pool shrinks the ground set); a subset epoch is `fraction` of one.
    pool = float(selection.params.get("pool", 1.0))
    ratio = measured.seconds / (recorded.proxy_s / recorded.proxy_epochs) * pool
    share, limit = ratio / (ratio + selection.every * selection.fraction), selection.max_cost_share
    total_s = gradient_selections(config) * measured.seconds * pool * samples / recorded.samples
    if share <= limit or total_s <= selection.min_cost_s:
        return None
    every = math.ceil(ratio * (1 - limit) / (limit * selection.fraction))
    fix = (f"Reselect less often (selection.every: {every} keeps it under {100 * limit:.0f}%) or raise "
           "selection.max_cost_share" if every < config.training.epochs else "Raise selection.max_cost_share")
    return (f"selection by {selection.strategy} every {selection.every} epochs at fraction {selection.fraction:g} "
            f"would likely take about {100 * share:.0f}% of each selection cycle (on the quickstart data one "
            f"selection costs {ratio:.2f} full-data epochs), above selection.max_cost_share ({100 * limit:.0f}%), "
            f"and about "
            f"{total_s:.0f}s a trial on {samples} samples, above selection.min_cost_s ({selection.min_cost_s:g}s): "
            f"trials would train on random subsets instead (the run measures and decides). {fix}")
