"""A corpus of malformed experiment files: each is refused by `validate` and by `run` with exit code 2, one
message naming the field path, no traceback, and nothing started (Ray never initialised, no run directory).

The corpus is ``tests/configs/malformed/*.yaml``, one case per file; a new file is a new case, no test edit.
Each file starts with header comment lines:

    # expect: <regex>              (first line) re.search'ed in the command's output
    # xfail: <reason>              a known product bug: every variant of the case must fail (strict xfail)
    # xfail[<variants>]: <reason>  the same for the listed variants only, e.g. ``# xfail[validate-set,run-set]:``
    # validate-accepts: <why>      a mistake only the data reveals, for data ``validate`` cannot get (it never
                                   downloads): ``validate`` exits 0; ``run`` must still exit 2 before Ray starts

Every case runs in three variants, in-process through typer's CliRunner with ``ray.init`` made to fail:

    validate      cords-tune validate FILE
    validate-set  cords-tune validate FILE --set dataset.data_dir=<tmp>   (an override keeps the error)
    run-set       cords-tune run FILE --output <tmp>/out --set dataset.data_dir=<tmp>
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import ray
from typer.testing import CliRunner

from cords_tune.cli import app

ROOT = Path(__file__).parents[1]
CORPUS_DIR = Path(__file__).parent / "configs" / "malformed"
CORPUS = sorted(CORPUS_DIR.glob("*.yaml"))
VARIANTS = ("validate", "validate-set", "run-set")
MIN_CASES = 45

_HEADER = re.compile(r"^# (expect|validate-accepts|xfail(?:\[([a-z,\s-]+)\])?): (.*)$")
_PWNED = re.compile(r"/tmp/pwned-[\w.-]+")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class Case:
    name: str
    expect: str
    validate_accepts: str | None = None
    xfail: dict[str, str] = field(default_factory=dict)  # variant -> reason
    pwned: tuple[Path, ...] = ()  # files a config trying to run code would create


def read_case(path: Path) -> Case:
    text = path.read_bytes().decode("utf-8", errors="replace")  # yaml-not-utf8.yaml is not UTF-8 past its header
    lines = text.splitlines()
    first = _HEADER.match(lines[0]) if lines else None
    if not first or first.group(1) != "expect":
        raise ValueError(f"{path.name}: the first line must be '# expect: <regex>'")
    expect, accepts, xfail = first.group(3), None, {}
    for line in lines[1:]:
        match = _HEADER.match(line)
        if not match:
            break
        key, scope, value = match.groups()
        if key == "validate-accepts":
            accepts = value
        elif key.startswith("xfail"):
            variants = [v.strip() for v in scope.split(",")] if scope else list(VARIANTS)
            unknown = set(variants) - set(VARIANTS)
            if unknown:
                raise ValueError(f"{path.name}: unknown variants {sorted(unknown)} in {line!r}")
            xfail.update(dict.fromkeys(variants, value))
    re.compile(expect)  # a broken regex is a corpus bug: fail at collection
    return Case(path.stem, expect, accepts, xfail, tuple(Path(p) for p in _PWNED.findall(text)))


CASES = {path.stem: (path, read_case(path)) for path in CORPUS}


def _params():
    for name, (path, case) in CASES.items():
        for variant in VARIANTS:
            marks = [pytest.mark.xfail(strict=True, reason=case.xfail[variant])] if variant in case.xfail else []
            yield pytest.param(path, case, variant, marks=marks, id=f"{name}/{variant}")


class RayStarted(Exception):
    """Raised by the patched ``ray.init``: a malformed config must never get that far."""


@pytest.fixture
def ray_calls(monkeypatch) -> list:
    calls: list = []

    def forbidden(*args, **kwargs):
        calls.append((args, kwargs))
        raise RayStarted("ray.init was called for a malformed config")

    monkeypatch.setattr(ray, "init", forbidden)
    return calls


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """One dataset cache for the module (mnist1d generates once), never the home cache."""
    return tmp_path_factory.mktemp("data")


def invoke(target: Path, variant: str, tmp_path: Path, data_dir: Path):
    """Run one variant in-process; return (result, the --output directory run would create)."""
    out = tmp_path / "out"
    command, _, with_set = variant.partition("-")
    args = [command, str(target)]
    if with_set:
        args += ["--set", f"dataset.data_dir={data_dir}"]
    if command == "run":
        args += ["--output", str(out)]
    return CliRunner().invoke(app, args), out


def check_refused(result, out: Path, ray_calls: list, expect: str, *, accepted: bool = False) -> None:
    output = _ANSI.sub("", result.output)  # stdout and stderr together; no colours even on a terminal (-s)
    assert not ray_calls, f"ray.init was called; output:\n{output}"
    assert not out.exists(), f"{out} was created: a run started; output:\n{output}"
    # In a real process an exception escaping the CLI is a traceback; CliRunner catches it instead.
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"uncaught {result.exception!r} (a traceback in a real process); output:\n{output}"
    )
    assert "Traceback" not in output, output
    if accepted:
        assert result.exit_code == 0 and output.startswith("ok "), output
        return
    assert result.exit_code == 2, f"exit code {result.exit_code}; output:\n{output}"
    assert output.startswith("error: ") and output.count("error: ") == 1, f"not one error message:\n{output}"
    assert re.search(expect, output), f"{expect!r} not found in:\n{output}"


def test_the_corpus_is_large_enough():
    assert len(CORPUS) >= MIN_CASES, f"{len(CORPUS)} malformed configs in {CORPUS_DIR}, want >= {MIN_CASES}"


@pytest.mark.parametrize(("path", "case", "variant"), list(_params()))
def test_malformed_config_is_refused(path, case, variant, tmp_path, data_dir, ray_calls):
    for pwned in case.pwned:
        pwned.unlink(missing_ok=True)
    result, out = invoke(path, variant, tmp_path, data_dir)
    for pwned in case.pwned:
        assert not pwned.exists(), f"loading {path.name} executed code: {pwned} was created"
    accepted = case.validate_accepts is not None and variant.startswith("validate")
    check_refused(result, out, ray_calls, case.expect, accepted=accepted)


# Not corpus files: a missing path, a directory, and a truly empty file (corpus files carry a header comment).
SPECIAL = {
    "missing-file": r"config file '.*absent\.yaml' does not exist",
    "directory": r"'.*configs' is a directory. Give the path of a YAML experiment file in it",
    "empty-file": r"'.*empty\.yaml' is empty: it must be a YAML mapping with at least a 'name'",
}


@pytest.mark.parametrize(
    ("kind", "variant"),
    [pytest.param(kind, variant, id=f"{kind}/{variant}") for kind in SPECIAL for variant in VARIANTS],
)
def test_missing_directory_or_empty_file_is_refused(kind, variant, tmp_path, data_dir, ray_calls):
    if kind == "missing-file":
        target = tmp_path / "absent.yaml"
    elif kind == "directory":
        target = tmp_path / "configs"
        target.mkdir()
    else:
        target = tmp_path / "empty.yaml"
        target.write_bytes(b"")
    result, out = invoke(target, variant, tmp_path, data_dir)
    check_refused(result, out, ray_calls, SPECIAL[kind])


@pytest.mark.parametrize(
    "name", ["training-epochs-negative", "selection-strategy-unknown", "yaml-python-object-apply-document"]
)
def test_a_real_process_exits_2_with_the_message_on_stderr(name):
    path, case = CASES[name]
    assert not case.xfail and case.validate_accepts is None, "pick a case every variant refuses"
    for pwned in case.pwned:
        pwned.unlink(missing_ok=True)
    env = {**os.environ, "COLUMNS": "200", "RAY_USAGE_STATS_ENABLED": "0"}
    result = subprocess.run(
        [sys.executable, "-m", "cords_tune.cli", "validate", str(path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env=env,
    )
    assert result.returncode == 2, result.stderr
    assert re.search(case.expect, result.stderr), result.stderr
    assert result.stdout == "", result.stdout
    assert "Traceback" not in result.stderr
    assert result.stderr.count("error: ") == 1, result.stderr
    for pwned in case.pwned:
        assert not pwned.exists(), f"{pwned} was created"
