"""The examples in examples/ run as a user runs them (own process, own Ray), on small data (--quick)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


def _run(tmp_path: Path, *args: str) -> str:
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=400, env=env,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_own_data_and_model(tmp_path):
    out = _run(tmp_path, str(ROOT / "examples" / "own_data_and_model.py"), "--quick", "--output", str(tmp_path))
    accuracy = float(re.search(r"test accuracy of the final model: ([\d.]+)", out).group(1))
    assert accuracy > 0.5, out  # 10 digits: chance is 0.1
    assert re.search(r"predictions for the first 10 digits: \[(\d, ){9}\d\]", out), out


@pytest.mark.parametrize("scheduler", ["hyperband", "pbt"])
def test_own_tuner(tmp_path, scheduler):
    out = _run(tmp_path, str(ROOT / "examples" / "own_tuner.py"), "--scheduler", scheduler, "--quick",
               "--storage", str(tmp_path / "tune"))
    best = re.search(r"best: \{.*'training.lr': ([\d.e-]+).*\} val_accuracy ([\d.]+) after (\d+) epochs", out)
    assert best, out
    assert float(best.group(2)) > 0.1 and int(best.group(3)) >= 1  # 10 digits: chance is 0.1


def test_the_readme_shows_the_examples_as_they_are():
    """Every line of the README's Python blocks that come from an example is in that example."""
    readme = (ROOT / "README.md").read_text()
    for name in ("own_data_and_model.py", "own_tuner.py"):
        assert f"examples/{name}" in readme, name
    source = "\n".join((ROOT / "examples" / n).read_text() for n in ("own_data_and_model.py", "own_tuner.py"))
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    shown = [line.strip() for block in blocks if "cords_tune.trainable" in block or "model=small_net" in block
             for line in block.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert shown, "the README shows the examples' code"
    missing = [line for line in shown if line not in source]
    assert not missing, f"README lines not in the examples: {missing}"


def test_the_viewers_the_readme_names_come_with_the_dashboards_extra():
    import tomllib

    readme = (ROOT / "README.md").read_text()
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dashboards"]
    installed = {re.match(r"[A-Za-z0-9_.-]+", requirement).group(0) for requirement in extra}
    named = {command for command in ("optuna-dashboard", "tensorboard") if f"`{command} " in readme}
    assert named == {"optuna-dashboard", "tensorboard"} and named <= installed, (named, installed)
    assert "pip install 'cords-tune[dashboards]'" in readme
