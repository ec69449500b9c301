"""Notes on an experiment that is valid but would do less than its author likely meant. `validate` and `run`
say them before anything starts; they never stop a run."""

from __future__ import annotations

from cords_tune.config import ExperimentConfig
from cords_tune.selection import STRATEGIES

__all__ = ["experiment_notes"]


def experiment_notes(config: ExperimentConfig) -> list[str]:
    """What in ``config`` is likely a mistake, in words (empty when nothing is)."""
    notes = []
    search, selection = config.search, config.selection
    if not search.space and search.num_trials > 1:
        notes.append(f"search.space is empty: the {search.num_trials} trials would all train the same configuration "
                     "with the same seed. Add the parameters to tune to search.space, or train the configuration "
                     "once with `cords-tune train`")
    strategy = STRATEGIES.get(selection.strategy)
    searched = {"selection.every", "selection.warm_start_epochs"} & set(search.space)
    if (strategy.needs_gradients and not strategy.shared and not searched and selection.warm_start_epochs == 0
            and selection.every >= config.training.epochs):
        notes.append(f"selection.every ({selection.every}) is not below training.epochs ({config.training.epochs}): "
                     f"{selection.strategy} would never select. A trial starts from a random subset (an untrained "
                     "network's gradients say little) and selects by gradients from its first reselection, which "
                     "would come after its last epoch. Set selection.every below training.epochs")
    if not strategy.sized_by_budget and strategy.uses_subsets and "selection.fraction" in search.space:
        notes.append(f"search.space searches selection.fraction, which {selection.strategy} ignores (it sizes its "
                     "subsets itself): the trials would differ in nothing there. Search its own parameters instead "
                     "(selection.params.*; `cords-tune strategies` lists them)")
    return notes
