"""A finalist's start from what its subset trial learned: the model weights of the trial's last Tune checkpoint,
for ``TrainingJob(start_weights=...)`` (the optimizer, the lr schedule and the epoch count start fresh).

The checkpoint is the search's ``ResultGrid``'s where the search ran in this session, else found on disk in
Tune's experiment folder (a search read back from the run directory on resume). Where none can be read the
finalist trains from scratch, as it would without warm start: the caller gets None and the log says why."""

from __future__ import annotations

import logging
import pickle
import re
from pathlib import Path
from typing import Any

import torch

from cords_tune.results.trial import TrialRecord
from cords_tune.tuning.search import SearchOutcome
from cords_tune.tuning.storage import is_uri
from cords_tune.tuning.trainable import CHECKPOINT_FILE

__all__ = ["finalist_start_weights", "saved_trial_weights", "trial_checkpoint_dir", "TUNE_EXPERIMENT"]

log = logging.getLogger(__name__)

TUNE_EXPERIMENT = "tune"  # the subset search's Tune folder inside the run directory (no storage_path set)
_CHECKPOINT_DIR = re.compile(r"checkpoint_(\d+)")
_UNREADABLE = (OSError, RuntimeError, EOFError, ValueError, KeyError, TypeError, AttributeError,
               pickle.UnpicklingError)


def finalist_start_weights(search: SearchOutcome, trial: TrialRecord, run_dir: str | Path,
                           tune_dir: str | Path | None = None) -> dict[str, torch.Tensor] | None:
    """The model weights (a ``state_dict`` of CPU tensors) ``trial`` ended its subset training with, from its
    last Tune checkpoint; None where it has none or it cannot be read (logged).

    ``tune_dir``: Tune's folder of the search (``<storage>/<experiment>``) where the search was read back from
    the run directory; by default ``run_dir/tune``, where a run keeps it unless ``storage_path`` is set."""
    if search.grid is not None:
        try:
            checkpoint = search.checkpoint_of(trial)
        except (IndexError, KeyError, AttributeError) as error:
            log.warning("warm start: trial %s is not in the search's results (%s); it trains from scratch",
                        trial.trial_id, error)
            return None
        if checkpoint is None:
            log.warning("warm start: trial %s kept no checkpoint; it trains from scratch", trial.trial_id)
            return None
        try:
            with checkpoint.as_directory() as folder:
                return _model_weights(Path(folder) / CHECKPOINT_FILE, trial)
        except _UNREADABLE as error:  # the checkpoint's folder itself could not be fetched
            log.warning("warm start: the checkpoint of trial %s cannot be read (%s); it trains from scratch",
                        trial.trial_id, _first_line(error))
            return None
    folder = Path(run_dir) / TUNE_EXPERIMENT if tune_dir is None else tune_dir
    if is_uri(str(folder)):
        log.warning("warm start: the checkpoints are in %s, read here only from a local path; trial %s trains "
                    "from scratch", folder, trial.trial_id)
        return None
    return saved_trial_weights(Path(folder), trial)


def saved_trial_weights(experiment_dir: Path, trial: TrialRecord) -> dict[str, torch.Tensor] | None:
    """``trial``'s model weights from its last checkpoint in Tune's experiment folder; None (logged) where it
    has none there or it cannot be read."""
    found = trial_checkpoint_dir(experiment_dir, trial.trial_id)
    if found is None:
        log.warning("warm start: no checkpoint of trial %s under %s; it trains from scratch", trial.trial_id,
                    experiment_dir)
        return None
    return _model_weights(found / CHECKPOINT_FILE, trial)


def trial_checkpoint_dir(experiment_dir: Path, trial_id: str) -> Path | None:
    """The last checkpoint folder (``checkpoint_<n>``, highest ``n``, holding the trainer's file) of the trial
    ``trial_id`` in Tune's experiment folder, or None. Tune names a trial's folder
    ``<trainable>_<trial_id>_<index>_<params>_<date>``."""
    try:
        trial_dirs = [d for d in experiment_dir.iterdir() if d.is_dir() and f"_{trial_id}_" in f"_{d.name}_"]
    except OSError:
        return None
    numbered = []
    for trial_dir in trial_dirs:
        for candidate in trial_dir.iterdir():
            match = _CHECKPOINT_DIR.fullmatch(candidate.name)
            if match and (candidate / CHECKPOINT_FILE).is_file():
                numbered.append((int(match.group(1)), candidate))
    return max(numbered)[1] if numbered else None


def _model_weights(file: Path, trial: TrialRecord) -> dict[str, torch.Tensor] | None:
    try:
        saved = torch.load(file, weights_only=True, map_location="cpu")
        weights = saved["trainer"]["model"]
        return {name: tensor.detach().cpu() for name, tensor in weights.items()}
    except _UNREADABLE as error:
        log.warning("warm start: the checkpoint %s of trial %s cannot be read (%s); it trains from scratch", file,
                    trial.trial_id, _first_line(error))
        return None


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__
