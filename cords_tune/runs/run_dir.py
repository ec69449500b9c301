"""The run directory: checked and made before a run starts, and its phases' completion markers.

A phase that finishes writes ``phases/<name>.json`` (atomically, after its results): resume skips the phases
whose marker is there (and whose files still are), up to the first that is not complete. A run directory
written before markers existed has no ``phases/``; what its files hold says the same: ``summary.json`` with
status ``ok`` (the search, its finalists and, as that version never compressed again, the compression),
``baseline/summary.json`` with status ``ok`` (the baseline), ``comparison.json`` (the comparison). An ``ok``
``summary.json`` means the finalists finished whatever their marker says (it is written just after), and a search
marker that records nothing (inferred for an old run) stands in for its search only beside it.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

from cords_tune.config import ExperimentConfig
from cords_tune.errors import ConfigError, RunFailedError
from cords_tune.reports import write_json_atomic
from cords_tune.results.summary import RunSummary
from cords_tune.tuning.session import first_line

__all__ = ["BASELINE_DIR", "Phase", "check_output_dir", "make_run_dir", "mark_done", "phase_record", "done_phases",
           "mark_inferred", "phases_left", "finished_summary"]

BASELINE_DIR = "baseline"  # the full-data search's files, inside the run directory
PHASES_DIR = "phases"


class Phase(str, Enum):
    """The phases of a run, in the order they run."""

    SEARCH = "search"  # the subset search
    FINALISTS = "finalists"  # its top configurations on the full data; summary.json written
    COMPRESSION = "compression"  # final.compress
    BASELINE = "baseline"  # the same search on the full data (``baseline``)
    COMPARISON = "comparison"  # comparison.json and the comparison in report.md


def check_output_dir(output_dir: str | Path) -> Path:
    """Check, before anything starts, that results can be written under ``output_dir``: the directories it
    needs are made and a file written there, then whatever the check made is removed again (a run that fails
    later, e.g. on its data, leaves nothing behind).

    Raises:
        ConfigError: it is a file, cannot be made, or cannot be written.
    """
    path = Path(output_dir).expanduser().resolve()
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{str(output_dir)!r} is a file, not a directory. Give a directory for the results",
                          path="output")
    missing = [p for p in (path, *path.parents) if not p.exists()]
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as error:
        raise ConfigError(
            f"cannot write results into {str(output_dir)!r} ({error.strerror or error}). Give a directory you can "
            "write to (--output DIR, or output_dir in the experiment file)", path="output"
        ) from None
    finally:
        for made in missing:  # deepest first
            with contextlib.suppress(OSError):
                made.rmdir()
    return path


def make_run_dir(output_dir: str | Path, name: str) -> Path:
    """A new directory ``<output_dir>/<name>-<YYYYmmdd-HHMMSS>`` (suffixed if it already exists)."""
    base = Path(output_dir).expanduser().resolve() / f"{name}-{datetime.now():%Y%m%d-%H%M%S}"
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    candidate.mkdir(parents=True)
    return candidate


def mark_done(run_dir: Path, phase: Phase, record: dict[str, Any] | None = None) -> None:
    """Mark ``phase`` complete, with what a later session needs of its result (``record``)."""
    write_json_atomic(run_dir / PHASES_DIR / f"{phase.value}.json", {"phase": phase.value, **(record or {})})


def phase_record(run_dir: Path, phase: Phase) -> dict[str, Any] | None:
    """What ``phase`` recorded when it was marked complete; None without a marker (or an unreadable one)."""
    try:
        return json.loads((run_dir / PHASES_DIR / f"{phase.value}.json").read_text())
    except (OSError, ValueError):
        return None


def done_phases(config: ExperimentConfig, run_dir: Path) -> set[Phase]:
    """The phases ``config`` asks for that ``run_dir`` has completed: marked, or inferred from the files of a
    run written before markers. Each counts only where its files are there still and every phase before it
    is complete too (a later phase builds on the earlier ones' files: the comparison rewrites report.md).

    Raises:
        RunFailedError: ``summary.json`` cannot be read.
    """
    marked = _marked(run_dir) if (run_dir / PHASES_DIR).is_dir() else None
    summary = finished_summary(run_dir)
    has_files = {
        Phase.SEARCH: summary is not None or (run_dir / "trials.parquet").is_file(),
        Phase.FINALISTS: summary is not None,
        Phase.COMPRESSION: summary is not None and (marked is not None or summary.compression is not None),
        Phase.BASELINE: _ok(run_dir / BASELINE_DIR / "summary.json"),
        Phase.COMPARISON: (run_dir / "comparison.json").is_file(),
    }
    if marked is None:  # before markers: a finished search's summary.json meant its finalists had finished too
        # and no compression was ever tried again (a run that had gone on to its baseline was finished).
        has_files[Phase.COMPRESSION] = has_files[Phase.FINALISTS]
        marked = {phase for phase, there in has_files.items() if there and phase is not Phase.SEARCH}
        marked |= {Phase.SEARCH} if Phase.FINALISTS in marked else set()
    elif has_files[Phase.FINALISTS]:  # written as the finalists ended, just before their marker
        marked.add(Phase.FINALISTS)
    if not has_files[Phase.FINALISTS] and not _recorded(run_dir, Phase.SEARCH):
        marked.discard(Phase.SEARCH)  # an empty marker (inferred for an old run) cannot stand in for its search
    done: set[Phase] = set()
    for phase in _asked(config):
        if phase not in marked or not has_files[phase]:
            break
        done.add(phase)
    return done


def mark_inferred(run_dir: Path, done: set[Phase]) -> None:
    """Mark the ``done`` phases of a run directory written before markers, before a resume marks later ones."""
    marked = _marked(run_dir)
    for phase in sorted(done - marked, key=list(Phase).index):
        mark_done(run_dir, phase)


def phases_left(config: ExperimentConfig, run_dir: Path) -> list[Phase]:
    """The phases ``config`` asks for that ``run_dir`` has not completed, in order."""
    done = done_phases(config, run_dir)
    return [phase for phase in _asked(config) if phase not in done]


def _recorded(run_dir: Path, phase: Phase) -> bool:
    """Whether ``phase``'s marker records what a later session needs of its result (a marker inferred for a run
    written before markers records nothing)."""
    return len(phase_record(run_dir, phase) or {}) > 1


def _marked(run_dir: Path) -> set[Phase]:
    return {phase for phase in Phase if (run_dir / PHASES_DIR / f"{phase.value}.json").is_file()}


def _asked(config: ExperimentConfig) -> list[Phase]:
    phases = [Phase.SEARCH, Phase.FINALISTS]
    if config.final.enabled and config.final.compress.enabled:
        phases.append(Phase.COMPRESSION)
    if config.baseline:
        phases += [Phase.BASELINE, Phase.COMPARISON]
    return phases


def finished_summary(run_dir: Path) -> RunSummary | None:
    """The subset search's summary if its run wrote it finished (status ``ok``), else ``None``.

    Raises:
        RunFailedError: it cannot be read.
    """
    summary_file = run_dir / "summary.json"
    if not summary_file.is_file():
        return None
    try:
        summary = RunSummary.from_json(json.loads(summary_file.read_text()))
    except (ValueError, TypeError, KeyError, AttributeError) as error:  # cut short, or edited by hand
        raise RunFailedError(
            f"{summary_file} cannot be read ({type(error).__name__}: {first_line(error)}). Move it aside (the "
            f"finished trials are kept in the tuning state) and resume again to redo what follows the search: "
            f"mv {summary_file} {summary_file}.bad"
        ) from None
    return summary if summary.ok else None


def _ok(summary_file: Path) -> bool:
    try:
        return json.loads(summary_file.read_text()).get("status") == "ok"
    except (OSError, ValueError, AttributeError):
        return False
