"""The results package reads a run's files without torch, Ray or pandas: a fresh interpreter imports it, reads
the summaries and the comparison a real run wrote, and has loaded none of them."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

HEAVY = ("torch", "ray", "pandas")


def _in_fresh_python(code: str) -> dict:
    """Run ``code`` in a new interpreter on this checkout; it prints one JSON line, returned here."""
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_results_loads_no_torch_ray_or_pandas():
    loaded = _in_fresh_python(f"""
        import json, sys
        import cords_tune.results
        print(json.dumps([name for name in {HEAVY!r} if name in sys.modules]))
    """)
    assert loaded == []


def test_a_real_runs_files_are_read_without_torch_ray_or_pandas(compared_run):
    run_dir = compared_run.run_dir
    read = _in_fresh_python(f"""
        import json, sys
        from pathlib import Path
        from cords_tune.results import Comparison, RunSummary

        run_dir = Path({str(run_dir)!r})
        texts = [json.loads((run_dir / name).read_text())
                 for name in ("summary.json", "baseline/summary.json", "comparison.json")]
        subset, full = (RunSummary.from_json(text) for text in texts[:2])
        comparison = Comparison.from_json(texts[2])
        print(json.dumps({{
            "loaded": [name for name in {HEAVY!r} if name in sys.modules],
            "same": [subset.to_json() == texts[0], full.to_json() == texts[1], comparison.to_json() == texts[2]],
            "best_trial_id": subset.best_trial_id,
            "test_accuracy": subset.final.test_accuracy,
            "finalists": len(subset.finalists),
        }}))
    """)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert read["loaded"] == []
    assert read["same"] == [True, True, True]  # every key read back, and written again as it was
    assert read["best_trial_id"] == summary["best_trial_id"]
    assert read["test_accuracy"] == summary["final"]["test_accuracy"]
    assert read["finalists"] == len(summary["finalists"]) > 0


def test_trials_parquet_is_read_back_without_pandas(tmp_path):
    from cords_tune.reports.files import write_parquet_atomic  # writing may import pandas: not in the reader
    from cords_tune.results import TrialRecord, trials_table

    trial = TrialRecord(index=0, trial_id="t0", status="completed", params={"training.lr": 0.1}, epochs=2,
                        best_metric=0.8, last_metric=math.nan, best_val_accuracy=0.8, last_val_accuracy=0.7,
                        wall_s=1.0)
    path = tmp_path / "trials.parquet"
    write_parquet_atomic(path, trials_table([trial]))
    read = _in_fresh_python(f"""
        import json, math, sys
        from cords_tune.results import read_trials

        (back,) = read_trials({str(path)!r})
        print(json.dumps({{"loaded": [name for name in {HEAVY!r} if name in sys.modules],
                          "params": back.params, "nan": math.isnan(back.last_metric)}}))
    """)
    assert read == {"loaded": [], "params": {"training.lr": 0.1}, "nan": True}
