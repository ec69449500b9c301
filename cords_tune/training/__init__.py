"""The epoch loop: subset schedule, weighted loss, evaluation and timings. Pure torch: imports no Ray."""

from cords_tune.metrics import Evaluation
from cords_tune.training.device_data import DeviceSplit, resolve_device
from cords_tune.training.factory import TrainingParts, build_parts, build_trainer
from cords_tune.selection.schedule import SubsetSchedule
from cords_tune.training.trainer import EpochStats, Trainer, weighted_cross_entropy

__all__ = ["DeviceSplit", "EpochStats", "Evaluation", "SubsetSchedule", "Trainer", "TrainingParts", "build_parts",
           "build_trainer", "resolve_device", "weighted_cross_entropy"]
