"""A run's results as plain typed records, each with its JSON (or Parquet) form both ways: summary.json
(``RunSummary``, ``TrainSummary``), trials.parquet (``TrialRecord``), comparison.json (``Comparison``) and the
records inside them. Importing it loads neither torch nor Ray (nor pandas): reading a run's files is cheap."""

from cords_tune.results.comparison import Comparison, TrialTime, build_comparison
from cords_tune.results.compression import Compression, VariantResult
from cords_tune.results.energy import Energy, EnergyPart, EnergyRecord, RunEnergy
from cords_tune.results.fidelity import Fidelity, FidelityConfig
from cords_tune.results.final import FinalResult
from cords_tune.results.finalist import FinalistRecord
from cords_tune.results.metrics import METRICS, SEARCH_METRICS, Metric, search_metric
from cords_tune.results.shared_subset import SharedSubsetRecord
from cords_tune.results.slot_use import SlotUse
from cords_tune.results.study import StudyStore
from cords_tune.results.summary import RunSummary, Timings, TrainSummary
from cords_tune.results.trial import TrialRecord, read_trials, trials_table

__all__ = [
    "Comparison",
    "Compression",
    "Energy",
    "EnergyPart",
    "EnergyRecord",
    "Fidelity",
    "FidelityConfig",
    "FinalResult",
    "FinalistRecord",
    "METRICS",
    "Metric",
    "RunEnergy",
    "RunSummary",
    "SEARCH_METRICS",
    "SharedSubsetRecord",
    "SlotUse",
    "StudyStore",
    "Timings",
    "TrainSummary",
    "TrialRecord",
    "TrialTime",
    "VariantResult",
    "build_comparison",
    "read_trials",
    "search_metric",
    "trials_table",
]
