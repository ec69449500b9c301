"""The typed results of a run (summary, trials, comparison) and their files: to_json is what the file holds,
and reading a file back gives the same object, also from files that earlier versions wrote."""

from __future__ import annotations

import json
import math
import time
from dataclasses import replace

import pyarrow.parquet as pq
import pytest

from cords_tune.results.compression import Compression, VariantResult
from cords_tune.config import parse_config
from cords_tune.results.energy import Energy
from cords_tune.preflight import load_and_check
from cords_tune.reports import comparison_section, render_report, write_json_atomic
from cords_tune.results.comparison import build_comparison
from cords_tune.results.comparison import Comparison
from cords_tune.reports.files import write_parquet_atomic
from cords_tune.tuning.finalists import Finalist, Settled
from cords_tune.results.final import FinalResult
from cords_tune.runs import full_data_variant
from cords_tune.runs.summary import SummaryInputs, build_summary
from cords_tune.results.shared_subset import SharedSubsetRecord
from cords_tune.results.slot_use import SlotUse
from cords_tune.results.summary import RunSummary, TrainSummary, Timings
from cords_tune.results.study import StudyStore
from cords_tune.results.trial import TrialRecord, read_trials, trials_table


def as_written(data, tmp_path):
    """``data`` as its JSON file holds it (NaN as null, tuples as lists)."""
    path = tmp_path / "written.json"
    write_json_atomic(path, data)
    return json.loads(path.read_text())


def trial(index, status="completed", fallback=None, **changes):
    row = TrialRecord(
        index=index, trial_id=f"t{index}", status=status, params={"training.lr": 0.01 * (index + 1),
                                                                  "model.params.hidden": 16},
        epochs=3, best_metric=0.8 - index / 10, last_metric=0.7, best_val_accuracy=0.8 - index / 10,
        last_val_accuracy=0.7, wall_s=2.5, selection_s=0.1, train_s=1.5, eval_s=0.3, samples_seen=540,
        selection_fallback=fallback is not None, selection_fallback_epoch=fallback,
        selection_share_at_fallback=0.4 if fallback is not None else None, restarts=index % 2, node="n1",
        gpu_ids="", gpus_assigned=0.0, **Energy(estimated_j=30.0 + index).as_columns(),
    )
    return replace(row, **changes)


def final_result(config, val_accuracy):
    return FinalResult(test_accuracy=0.9, test_loss=0.3, val_accuracy=val_accuracy, val_loss=0.4,
                       epochs=config.final_epochs, wall_s=4.0, train_s=3.5, node="n1", model_path="model.pt",
                       energy=Energy(estimated_j=120.0))


def summaries(tiny_experiment):
    """A subset search's and its baseline's summaries, as the run builds them (a real ``build_summary`` call each),
    with every part a finished search records."""
    config = parse_config({**tiny_experiment, "baseline": True})
    data = load_and_check(config)
    trials = [trial(0), trial(1, fallback=2), trial(2, status="error", best_metric=math.nan,
                                                   last_metric=math.nan, error="worker died")]
    finalists = [Finalist(rank, trials[rank - 1], config, final_result(config, v), done_after_s=5.0 * rank)
                 for rank, v in ((1, 0.81), (2, 0.84))]
    settled = Settled(finalists, winner_rank=2)
    timings = {"data_load_s": 0.2, "ray_start_s": 3.0, "data_put_s": 0.01, "tuning_wall_s": 20.0,
               "final_wall_s": 6.0}
    subset = build_summary(SummaryInputs(config, data, trials, time.perf_counter(), Timings.from_dict(timings),
                                         best=trials[1], final=settled.winner.result, settled=settled,
                                         subset_best=trials[0]))
    subset = replace(
        subset, resumed=False, optuna_study=StudyStore("sqlite:///run/optuna.db", "tiny-1"),
        notes=["the time budget (search.time_budget_s = 8 s) stopped the search after 3 of 1000 trials"],
        slot_use=SlotUse(2, 40.0, 30.0, 2.0, 1.0, 3.0, 0.5, 3.5),
        shared_subset=SharedSubsetRecord("el2n", 0.3, 0.5, True, "mlp", 2, 0.7, 1.0, 0.2, 1.5, rounds=3, size=130),
        compression=Compression((VariantResult("fp32", "fp32", file="model.pt", test_accuracy=0.9, size_bytes=9000,
                                               latency_ms=0.2, latency_batch=64, latency_repeats=20),
                                 VariantResult("static_int8", "static_int8", status="skipped", reason="no engine")),
                                wall_s=1.5),
    )
    full = full_data_variant(config)
    baseline = build_summary(SummaryInputs(full, data, trials[:2], time.perf_counter(),
                                           Timings(tuning_wall_s=60.0, final_wall_s=0.5), best=trials[0],
                                           final=replace(final_result(full, 0.85), retrained=False)))
    return subset, replace(baseline, resumed=False)


def test_a_summary_round_trips_through_its_json(tiny_experiment, tmp_path):
    subset, baseline = summaries(tiny_experiment)
    for summary in (subset, baseline):
        written = as_written(summary.to_json(), tmp_path)
        assert RunSummary.from_json(written) == summary
        assert RunSummary.from_json(written).to_json() == written
    data = subset.to_json()
    assert data["best_val_accuracy"] == pytest.approx(0.7) and data["best_config"] == {"training.lr": 0.02, "model.params.hidden": 16}
    assert list(data)[-8:] == ["resumed", "optuna_study", "slot_use", "shared_subset", "race", "device_s",
                               "compression", "compression_wall_s"]
    assert data["final"]["energy_j"] == 120.0 and data["finalists"][1]["picked"] is True
    assert data["timings"] == {"data_load_s": 0.2, "ray_start_s": 3.0, "data_put_s": 0.01, "tuning_wall_s": 20.0,
                               "final_wall_s": 6.0}
    assert data["selection_fallback_epochs"] == [2] and data["trials_errored"] == 1


def test_a_summary_names_its_best_score_after_the_metric(tiny_experiment, tmp_path):
    tiny_experiment["search"].update(metric="val_loss", mode="min")
    subset, _ = summaries(tiny_experiment)
    data = as_written(subset.to_json(), tmp_path)
    assert data["best_val_loss"] == subset.best_metric and data["best_val_accuracy"] == pytest.approx(0.7)
    assert "best_metric" not in data
    assert RunSummary.from_json(data).best_metric == subset.best_metric


def test_an_unfinished_search_writes_no_search_entries():
    data = RunSummary.from_json({"name": "x", "metric": "val_accuracy", "status": "interrupted"}).to_json()
    assert not {"resumed", "optuna_study", "slot_use", "shared_subset", "compression"} & set(data)


def test_an_older_summary_reads_with_what_it_lacks_left_empty(tmp_path):
    older = {  # before finalists, energy, slot use, shared subsets, compression and fallbacks were recorded
        "name": "old", "seed": 0, "dataset": "d", "model": "mlp", "strategy": "random", "fraction": 0.3,
        "metric": "val_accuracy", "mode": "max", "num_trials": 2, "trials_completed": 2, "trials_stopped_early": 0,
        "trials_errored": 0, "trials_diverged": 0, "trials_retried": 0, "tuning_wall_s": 9.0,
        "selection_s_total": 0.1, "train_s_total": 5.0, "eval_s_total": 1.0, "epochs_total": 6,
        "best_trial_id": "a", "best_config": {"training.lr": 0.01}, "best_val_accuracy": 0.8,
        "final": {"test_accuracy": 0.85, "test_loss": 0.4, "epochs": 3, "wall_s": 2.0, "train_s": 1.9, "node": "x"},
        "timings": {"tuning_wall_s": 9.0, "final_wall_s": 2.1}, "end_to_end_wall_s": 15.0, "status": "ok",
        "a_key_this_version_does_not_know": 1,
    }
    summary = RunSummary.from_json(older)
    assert summary.ok and summary.best_metric == 0.8 and summary.final.test_accuracy == 0.85
    assert summary.final.val_loss is None and summary.final.energy == Energy()
    assert summary.finalists == [] and summary.energy is None and summary.slot_use is None
    assert summary.resumed is None and summary.compression is None and summary.trials_selection_fallback == 0
    assert summary.timings == Timings(tuning_wall_s=9.0, final_wall_s=2.1)
    data = summary.to_json()
    assert "a_key_this_version_does_not_know" not in data and "resumed" not in data and "compression" not in data
    assert {k: data[k] for k in older if k not in ("final", "a_key_this_version_does_not_know")} == \
        {k: v for k, v in older.items() if k not in ("final", "a_key_this_version_does_not_know")}
    report = render_report(summary, [])
    assert "| energy of the trials and final training | n/a |" in report and "| final retrain wall-clock | 2.1 s |" in report


def test_trials_round_trip_through_parquet_mixed_params_as_text(tmp_path):
    trials = [trial(0), trial(1, fallback=2), trial(2, status="error", best_metric=math.nan, error="died")]
    path = tmp_path / "trials.parquet"
    write_parquet_atomic(path, trials_table(trials))
    read = read_trials(path)
    assert [t.to_json() for t in read[:2]] == [t.to_json() for t in trials[:2]]
    assert math.isnan(read[2].best_metric) and replace(read[2], best_metric=0.0) == replace(trials[2], best_metric=0.0)
    assert read[0].selection_fallback_epoch is None and read[1].selection_fallback_epoch == 2
    assert read[1].energy == Energy(estimated_j=31.0)

    mixed = [trial(0, params={"model.params.x": 3}), trial(1, params={"model.params.x": "auto"})]
    write_parquet_atomic(path, trials_table(mixed))
    assert pq.read_table(path).column("param.model.params.x").to_pylist() == ["3", "auto"]
    read = read_trials(path)
    assert [t.params for t in read] == [{"model.params.x": "3"}, {"model.params.x": "auto"}]
    assert trials_table(read).equals(pq.read_table(path))


def test_older_trials_files_read_with_the_newer_columns_at_their_defaults(tmp_path):
    table = trials_table([trial(0, fallback=1)])
    newer = ("selection_share_at_fallback", "gpus_assigned", "energy_j", "energy_measured_j", "energy_meters",
             "energy_source")
    path = tmp_path / "trials.parquet"
    write_parquet_atomic(path, table.drop_columns(list(newer)).append_column("dropped_since", [[1]]))
    (read,) = read_trials(path)
    assert read.selection_share_at_fallback is None and read.energy == Energy() and read.gpus_assigned == 0.0
    assert read.selection_fallback_epoch == 1 and read.params == trial(0).params
    assert "dropped_since" not in read.to_json()


def test_trials_files_written_through_pandas_read_their_missing_numbers_as_nan(tmp_path):
    pd = pytest.importorskip("pandas")
    trials = [trial(0, params={"training.lr": 0.1}),
              trial(1, status="not_started", params={}, best_metric=math.nan, last_metric=math.nan)]
    rows = [{k: v for k, v in t.to_json().items() if k != "params"} | {f"param.{k}": v for k, v in t.params.items()}
            for t in trials]
    path = tmp_path / "trials.parquet"
    pd.DataFrame(rows).to_parquet(path)  # as versions before typed records wrote it: NaN stored as null
    assert pq.read_table(path).column("best_metric").null_count == 1
    read = read_trials(path)
    assert math.isnan(read[1].best_metric) and math.isnan(read[1].last_metric)
    assert read[0] == trials[0] and read[1].params == {"training.lr": None}
    assert replace(read[1], best_metric=0.0, last_metric=0.0, params={}) == \
        replace(trials[1], best_metric=0.0, last_metric=0.0)


def test_a_comparison_round_trips_through_its_json(tiny_experiment, tmp_path):
    comparison = build_comparison(*summaries(tiny_experiment), dropped=["selection.fraction"])
    written = as_written(comparison.to_json(), tmp_path)
    assert Comparison.from_json(written) == comparison
    assert Comparison.from_json(written).to_json() == written
    assert written["best_val_accuracy_subset"] == pytest.approx(0.7) and written["best_val_accuracy_full"] == 0.8
    assert written["trial_time_subset"] == {"selection_s": pytest.approx(0.3), "train_s": 4.5,
                                            "eval_s": pytest.approx(0.9), "other_s": pytest.approx(1.8)}
    assert written["energy_saving"] == pytest.approx((61.0 + 120.0) / (93.0 + 240.0))


def test_an_older_comparison_reads_without_energy(tiny_experiment, tmp_path):
    comparison = build_comparison(*summaries(tiny_experiment)).to_json()
    energy = ("energy_kwh_subset", "energy_kwh_full", "energy_saving", "co2e_kg_subset", "co2e_kg_full",
              "energy_source_subset", "energy_source_full")
    older = Comparison.from_json({k: v for k, v in comparison.items() if k not in energy})
    assert older.energy_saving is None and older.tuning_speedup == comparison["tuning_speedup"]
    assert "tuning + final model energy" not in comparison_section(older)


def test_a_train_summary_round_trips_through_its_json(tiny_experiment, tmp_path):
    config = parse_config(tiny_experiment)
    summary = TrainSummary(name="tiny", seed=0, dataset="d", model="mlp", model_params={"hidden": 32},
                           final=final_result(config, 0.8), classes=[3, 7, 11],
                           timings=Timings(data_load_s=0.1, ray_start_s=2.0), end_to_end_wall_s=9.0,
                           notes=["search.space is ignored"], status="ok")
    written = as_written(summary.to_json(), tmp_path)
    assert list(written) == ["name", "seed", "dataset", "model", "model_params", "final", "classes", "timings",
                             "end_to_end_wall_s", "notes", "status"]
    assert TrainSummary.from_json(written) == summary and TrainSummary.from_json(written).to_json() == written


def test_a_summary_names_the_classes_and_so_does_the_report(tiny_experiment, tmp_path):
    subset, _ = summaries(tiny_experiment)
    data = as_written(subset.to_json(), tmp_path)
    assert data["classes"] == [0, 1, 2]  # synthetic data: the labels are the class indices
    named = replace(subset, classes=["cat", "dog", "fox"])
    assert RunSummary.from_json(as_written(named.to_json(), tmp_path)).classes == ["cat", "dog", "fox"]
    assert "Classes (3, the final model's labels): `cat`, `dog`, `fox`." in render_report(named, [])
