"""One table source: the CLI's summary table and report.md's result table print the same rows, word for word."""

from __future__ import annotations

from conftest import printed_summary
from cords_tune.reports import render_report
from cords_tune.reports.markdown import markdown_table
from cords_tune.reports.rows import summary_rows
from cords_tune.results.summary import TRIAL_TOTALS, RunSummary


def summary(**changes):
    data = {
        "name": "exp", "dataset": "d", "model": "m", "strategy": "gradmatch", "fraction": 0.1, "seed": 3,
        "metric": "val_roc_auc", "mode": "max", "num_trials": 8, "trials_started": 8, "trials_completed": 2,
        "trials_stopped_early": 6, "trials_retried": 1, "trials_selection_fallback": 1,
        "best_trial_selection_fallback_epoch": 4, "tuning_wall_s": 20.0, "selection_s_total": 3.25,
        "train_s_total": 10.0, "eval_s_total": 2.0, "trial_wall_s_total": 16.0, "best_val_roc_auc": 0.912345,
        "final": {"test_accuracy": 0.95, "val_accuracy": 0.9, "test_roc_auc": 0.97, "val_roc_auc": 0.93,
                  "wall_s": 4.0, "retrained": True},
        "timings": {"tuning_wall_s": 20.0, "final_wall_s": 5.0}, "end_to_end_wall_s": 30.0,
        "best_config": {"training.lr": 0.01}, **changes,
    }
    return RunSummary.from_json(data)


def test_the_cli_and_report_md_print_the_same_summary_rows():
    s = summary()
    rows = summary_rows(s)
    report = render_report(s, [])
    printed = printed_summary(s)
    assert markdown_table(["quantity", "value"], [list(row) for row in rows]) in report
    for label, value in rows:
        line = next(line for line in printed.splitlines() if label in line)
        assert value in line, (label, value, line)
    labels = [label for label, _ in rows]
    assert "val_roc_auc of the picked config while tuning (random subsets from epoch 4)" in labels
    assert ("final test ROC AUC (the same model)", "0.97") in rows
    assert ("selection time, all trials", "3.2 s") in rows


def test_a_declared_total_with_a_row_is_shown_in_its_group():
    rows = summary_rows(summary())
    labels = [label for label, _ in rows]
    for total in TRIAL_TOTALS:
        if total.row:
            assert total.label in labels
    outcome = labels.index("trials (completed / stopped early / diverged / errored)")
    assert labels[outcome + 1:outcome + 3] == ["trials retried from a checkpoint",
                                               "trials that fell back to random subsets"]
    assert labels[labels.index("tuning wall-clock") + 1] == "selection time, all trials"
