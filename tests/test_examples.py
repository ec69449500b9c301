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


def _run(tmp_path: Path, *args: str, timeout: float = 400) -> str:
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout, env=env,
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
    missing = [line for line in shown if line not in source and not _in_place_of_the_command_line(line)]
    assert not missing, f"README lines not in the examples: {missing}"


def test_the_viewers_the_readme_names_come_with_the_dashboards_extra():
    import tomllib

    readme = (ROOT / "README.md").read_text()
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dashboards"]
    installed = {re.match(r"[A-Za-z0-9_.-]+", requirement).group(0) for requirement in extra}
    named = {command for command in ("optuna-dashboard", "tensorboard") if f"`{command} " in readme}
    assert named == {"optuna-dashboard", "tensorboard"} and named <= installed, (named, installed)
    assert "pip install 'cords-tune[dashboards]'" in readme


# What an excerpt sets itself where its example reads its command line.
COMMAND_LINE_NAMES = {"epochs", "trials", "top_k", "output", "scheduler_name", "samples", "storage"}


def _in_place_of_the_command_line(line: str) -> bool:
    """An import, or a value that the example takes from its command line."""
    names = line.split("=", 1)[0] if "=" in line else ""
    return line.startswith(("import ", "from ")) or {n.strip() for n in names.split(",")} <= COMMAND_LINE_NAMES


def _readme_block(heading: str) -> str:
    """The first Python block under ``heading`` in README.md, as written."""
    section = (ROOT / "README.md").read_text().split(f"\n{heading}\n", 1)[1]
    return re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)


# Run before an excerpt, in its process: the same experiment, made small (its sizes are a user's).
SMALL = """
import cords_tune
from ray import tune

SMALL = ["training.epochs=2", "search.num_trials=2", "final.top_k=1"]
run, trainable, tune_config = cords_tune.run, cords_tune.trainable, tune.TuneConfig
cords_tune.run = lambda *args, overrides=(), **kw: run(*args, overrides=[*overrides, *SMALL], **kw)
cords_tune.trainable = lambda *args, overrides=(), **kw: trainable(*args, overrides=[*overrides, SMALL[0]], **kw)
tune.TuneConfig = lambda **kw: tune_config(**{**kw, "num_samples": min(kw.get("num_samples", 1), 2)})
"""


# After an excerpt, in its process: what it made, from its own variables.
SAID = {
    "### From Python": "print(made['result'].summary.status, made['model'].predict(made['x'][:3] / 16.0).shape)",
    "### Your own Tuner": "print(made['best'].metrics['training_iteration'], sorted(made['best'].config)); "
                          "__import__('shutil').rmtree(made['storage'])",
}


@pytest.fixture(scope="module")
def excerpts_said(tmp_path_factory) -> dict[str, str]:
    """Each excerpt run as a script of its own, as written (imports included), with fewer epochs and trials, and
    what it made as ``SAID`` prints it. One process runs them one after the other (one interpreter and one
    torch import for both), each in a folder and a namespace of its own."""
    folder = tmp_path_factory.mktemp("excerpts")
    program = [SMALL, "import os, runpy"]
    for number, heading in enumerate(SAID):
        (folder / str(number)).mkdir()
        (folder / str(number) / "excerpt.py").write_text(_readme_block(heading))
        program += [f"os.chdir({str(folder / str(number))!r})",
                    "made = runpy.run_path('excerpt.py', run_name='__main__')",
                    f"print({heading!r})", SAID[heading]]
    out = _run(folder, "-c", "\n".join(program), timeout=800)
    lines = out.splitlines()
    return {heading: lines[lines.index(heading) + 1] for heading in SAID if heading in lines}


@pytest.mark.parametrize(("heading", "expected"), [
    ("### From Python", "ok (3,)"),
    ("### Your own Tuner", "2 ['model.params.hidden', 'training.lr']"),
])
def test_the_readme_python_excerpts_run_as_pasted(excerpts_said, heading, expected):
    assert excerpts_said.get(heading) == expected, excerpts_said
