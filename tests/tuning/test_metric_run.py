"""A run tuned for a metric other than accuracy or loss (``search.metric: val_roc_auc``), end to end on real Ray:
the search, the finalists, the baseline and the comparison all go by it, and its figures agree with
scikit-learn on the saved model's predictions."""

from __future__ import annotations

import json

import pytest
import torch
from sklearn.metrics import f1_score, roc_auc_score

import cords_tune
from cords_tune.cli.console import out
from cords_tune.cli.display import print_summary
from cords_tune.config import load_config, parse_config
from cords_tune.preflight import load_and_check
from cords_tune.training import build_trainer
from cords_tune.runs import run_experiment
from cords_tune.tuning.fidelity import train_to_end
from cords_tune.results.summary import RunSummary


def _proba(model_file, x):
    """Class probabilities of a saved model with one thread, as the Ray task that tested it ran."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return cords_tune.load_model(model_file).predict_proba(x)
    finally:
        torch.set_num_threads(threads)


@pytest.mark.slow
def test_a_binary_run_tuned_for_roc_auc_reports_and_picks_by_it(local_ray, tiny_experiment, tmp_path):
    tiny_experiment["dataset"]["params"]["num_classes"] = 2
    tiny_experiment["search"]["metric"] = "val_roc_auc"
    tiny_experiment["search"]["num_trials"] = 2  # both finalists; each search one round of the two CPUs' trials
    tiny_experiment.update(final={"top_k": 2}, baseline=True)
    result = run_experiment(parse_config(tiny_experiment), output_dir=tmp_path)
    run_dir = result.run_dir
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "ok" and (summary["metric"], summary["mode"]) == ("val_roc_auc", "max")

    # The search ranks by it (each trial's best is its best reported ROC AUC), the full data picks by it.
    assert all(0.0 <= t.best_metric <= 1.0 for t in result.trials)
    finalists = summary["finalists"]
    assert finalists[0]["subset_score"] == max(t.best_metric for t in result.trials if t.usable)
    (picked,) = [f for f in finalists if f["picked"]]
    assert picked["full_data_score"] == max(f["full_data_score"] for f in finalists)
    assert summary["best_val_roc_auc"] == picked["subset_score"]

    # ... and its figures are scikit-learn's on the saved model's predictions.
    final = summary["final"]
    data = load_and_check(load_config(run_dir / "config.yaml"))
    assert final["val_roc_auc"] == picked["full_data_score"]
    assert final["val_roc_auc"] == pytest.approx(
        roc_auc_score(data.y_val, _proba(run_dir / "model.pt", data.x_val)[:, 1]), abs=1e-9)
    assert final["test_roc_auc"] == pytest.approx(
        roc_auc_score(data.y_test, _proba(run_dir / "model.pt", data.x_test)[:, 1]), abs=1e-9)
    assert RunSummary.from_json(summary) == result.summary  # read back with its scores

    # The baseline and the comparison go by it too.
    baseline = json.loads((run_dir / "baseline" / "summary.json").read_text())
    assert baseline["final"]["test_roc_auc"] == pytest.approx(
        roc_auc_score(data.y_test, _proba(run_dir / "baseline" / "model.pt", data.x_test)[:, 1]), abs=1e-9)
    comparison = json.loads((run_dir / "comparison.json").read_text())
    assert comparison["test_roc_auc_subset"] == final["test_roc_auc"]
    assert comparison["test_roc_auc_full"] == baseline["final"]["test_roc_auc"]
    assert comparison["regret_val_score"] == pytest.approx(baseline["final"]["val_roc_auc"] - final["val_roc_auc"])
    assert "best_val_roc_auc_subset" in comparison

    # The test figure is reported beside the accuracy: report.md and the CLI's summary.
    report = (run_dir / "report.md").read_text()
    assert "| final test ROC AUC (the same model) |" in report and "ROC AUC (the same model) | n/a" not in report
    assert "| test ROC AUC of the final model |" in report
    width, out.width = out.width, 200  # one line per row
    try:
        with out.capture() as printed:
            print_summary(result.summary)
    finally:
        out.width = width
    assert "final test ROC AUC (the same model)" in printed.get()  # the report's row, word for word


def test_fidelity_scores_each_configuration_by_the_search_metric(tiny_experiment):
    tiny_experiment["dataset"]["params"]["num_classes"] = 2
    tiny_experiment["search"] = {"metric": "val_f1_macro"}
    tiny_experiment["training"]["epochs"] = 2
    config = parse_config(tiny_experiment)
    data = load_and_check(config)
    threads = torch.get_num_threads()
    try:
        scored = train_to_end(config, data)  # with one thread, as a Ray task with one CPU
        trainer = build_trainer(config, data)  # the same seed trains the same model: its validation F1 is the score
        trainer.fit()
    finally:
        torch.set_num_threads(threads)
    with torch.no_grad():
        trainer.model.eval()
        logits = trainer.model(trainer.val.batch(torch.arange(len(trainer.val)))[0])
    assert scored["score"] == pytest.approx(f1_score(data.y_val, logits.argmax(1).numpy(), average="macro"))
