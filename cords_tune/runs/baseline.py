"""The full-data side of a run (``baseline``): the same search on the full data, its best trial tested as it
stands, and the comparison of the two searches."""

from __future__ import annotations

import json
import time
from dataclasses import replace

from cords_tune.errors import RunInterruptedError
from cords_tune.reports import comparison_section, render_report, write_comparison, write_run, write_text_atomic
from cords_tune.results.comparison import Comparison, build_comparison
from cords_tune.results.summary import RunSummary, Timings
from cords_tune.runs.context import RunContext
from cords_tune.runs.phases import SubsetResult, announce, searched
from cords_tune.runs.run_dir import BASELINE_DIR, Phase, mark_done
from cords_tune.runs.summary import SummaryInputs, build_summary
from cords_tune.tuning.retrain import evaluate_checkpoint_on_cluster, keep_model, retrain_on_cluster
from cords_tune.tuning.search import SearchSpec, full_data_variant, saved_search

__all__ = ["baseline_phase", "comparison_phase"]


def baseline_phase(run: RunContext, done: set[Phase]) -> RunSummary:
    """The same search on the full data; its best trial is tested as it stands (it trained on the full data
    already), or retrained where ASHA stopped it early. Its files go into ``baseline/``. Once complete, its
    summary is read back."""
    folder = run.run_dir / BASELINE_DIR
    if Phase.BASELINE in done:
        return RunSummary.from_json(json.loads((folder / "summary.json").read_text()))
    started = time.perf_counter()
    full = full_data_variant(run.config)
    folder.mkdir(exist_ok=True)
    experiment = f"{run.experiment}-{BASELINE_DIR}"
    restore = run.resume and saved_search(run.storage, experiment)
    display = f"{run.run_dir.name}-{BASELINE_DIR}"
    spec = SearchSpec(full, run.data, run.data_ref, run.model, run.storage, experiment, folder=folder,
                      display=display, phase="baseline: tuning on the full data", run_dir=run.run_dir,
                      on_progress=run.on_progress, restore=restore)
    baseline_run = replace(run, started=started)  # the baseline's summary times the baseline alone
    search = searched(baseline_run, spec, Timings(),
                      if_none_usable=f"there is nothing to compare with (the subset results in {run.run_dir} are "
                                     "complete)")
    best, best_config = search.best, search.best_config
    assert best is not None and best_config is not None, "searched() returns a search with a usable trial"
    started -= search.earlier_wall_s
    timings = Timings(tuning_wall_s=search.timings.tuning_wall_s, shared_subset_s=search.timings.shared_subset_s)
    checkpoint = search.checkpoint_of(best)
    tick = time.perf_counter()
    try:
        if best.status == "completed" and checkpoint is not None:
            announce(run, display, "baseline: testing the best full-data trial")
            final = evaluate_checkpoint_on_cluster(best_config, run.data_ref, checkpoint, run.model)
        else:  # stopped early by ASHA: a user tuning on the full data would have to train it to the end too
            announce(run, display, "baseline: retraining the best full-data config (it was stopped early)")
            final = retrain_on_cluster(best_config, run.data_ref, run.model)
    except KeyboardInterrupt:  # the subset results are complete; resume redoes only this step
        write_run(folder, build_summary(SummaryInputs(full, run.data, search.trials, started, timings, best=best,
                                                      status="interrupted", slot_use=search.slot_use)),
                  search.trials, best_config)
        raise RunInterruptedError(
            "interrupted while finishing the best full-data configuration; the subset results and the baseline's "
            f"trials are kept. Continue with: cords-tune resume {run.run_dir}"
        ) from None
    final = keep_model(final, folder)  # baseline/model.pt
    timings = replace(timings, final_wall_s=time.perf_counter() - tick)
    summary = build_summary(SummaryInputs(full, run.data, search.trials, started, timings, best=best, final=final,
                                          search=search, resumed=restore))
    write_run(folder, summary, search.trials, best_config)
    mark_done(run.run_dir, Phase.BASELINE)
    return summary


def comparison_phase(run: RunContext, subset: SubsetResult, baseline: RunSummary, done: set[Phase]) -> Comparison:
    """Subset tuning against full-data tuning: ``comparison.json``, ``comparison.png`` and the comparison in
    ``report.md``. Once complete, ``comparison.json`` is read back."""
    if Phase.COMPARISON in done:
        return Comparison.from_json(json.loads((run.run_dir / "comparison.json").read_text()))
    dropped = sorted(set(run.config.search.space) - set(full_data_variant(run.config).search.space))
    comparison = build_comparison(subset.summary, baseline, dropped=dropped)
    write_comparison(run.run_dir, comparison)
    write_text_atomic(run.run_dir / "report.md", render_report(subset.summary, subset.trials,
                                                               sections=[comparison_section(comparison)]))
    mark_done(run.run_dir, Phase.COMPARISON)
    return comparison
