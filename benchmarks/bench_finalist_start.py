"""What a finalist's start costs after a search: submission to its trainer's first epoch, in phases.

Each round starts a private Ray (as a run does), runs a small Tune search of the experiment and, as soon as
it returns, submits the finalists as the run does (``retrain_job`` + ``worker.submit``, top ``final.top_k``,
each stopped after its first epoch). Rounds alternate between the search without and with the warm-up tasks
in its tail (``tuning/warm_workers.py``). Per finalist, from its submission: queued + process start (to the
task's first line), imports (``cords_tune.tuning.worker``, torch), data read from the object store, trainer
build, first epoch; and whether its process existed before the search ended.

    python benchmarks/bench_finalist_start.py experiments/mnist1d.yaml --rounds 3 --set search.num_trials=6

With ``--pairs N`` it runs no search: N pairs of finalists submitted together after one warm-up task, one on the
warmed process and one on a process without torch, side by side under the same load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from cords_tune.config import apply_params, load_config
from cords_tune.preflight import load_and_check


def process_started_at() -> float:
    """When this process started (epoch seconds), from /proc."""
    ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
    boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                if line.startswith("btime"))
    return boot + ticks / os.sysconf("SC_CLK_TCK")


class Marks:
    """A finalist job's hooks that note when its trainer was built and its first epoch ended."""

    def __init__(self) -> None:
        self.marks: dict[str, float] = {}

    def restore(self, device):  # called once the trainer is built
        self.marks["built"] = time.time()
        return None

    def on_epoch(self, stats, job):
        self.marks.setdefault("epoch", time.time())


def timed_finalist(pickled_job, data_ref_box, submitted_at):
    """A finalist's task, its phases timed: ``run_on_worker`` on the job, its imports (the job's unpickling
    among them) and its data read apart."""
    marks = {"submitted": submitted_at, "entered": time.time(), "process_started": process_started_at()}
    warm = "torch" in sys.modules
    import cloudpickle

    job = cloudpickle.loads(pickled_job)
    from cords_tune.training.job import JobHooks
    from cords_tune.tuning.worker import run_on_worker

    marks["imported"] = time.time()
    import ray

    data = ray.get(data_ref_box[0])
    marks["data"] = time.time()
    hooks = type("TimedHooks", (Marks, JobHooks), {})()
    run_on_worker(replace(job, data=data, hooks=hooks))
    marks.update(hooks.marks)
    return {"marks": marks, "pid": os.getpid(), "torch_was_imported": warm}


def one_round(config, data, warm: bool, folder: Path) -> dict:
    import cloudpickle
    import ray

    from cords_tune.tuning.retrain import retrain_job
    from cords_tune.tuning.search import SearchSpec, run_search
    from cords_tune.tuning.session import ray_session
    from cords_tune.tuning.worker import as_trial_task

    searched_config = config if warm else config.model_copy(update={"baseline": False, "final": config.final.model_copy(
        update={"enabled": False})})  # no finalists follow: no warm-up tasks
    with ray_session(None):
        data_ref = ray.put(data)
        spec = SearchSpec(searched_config, data, data_ref, None, str(folder / "tune"), "search", folder=folder,
                          display=str(folder), phase="tuning", run_dir=folder)
        tick = time.time()
        outcome = run_search(spec)
        search_end = time.time()
        count = min(config.final.top_k, len(outcome.ranked))
        task = as_trial_task(timed_finalist, config)
        refs = []
        for trial in outcome.ranked[:count]:
            finalist = apply_params(config, trial.params)
            job = replace(retrain_job(finalist, None), until_epoch=1, evaluate=(), keep_model=False)
            refs.append(task.remote(cloudpickle.dumps(job), [data_ref], time.time()))
        finalists = ray.get(refs)
    for f in finalists:
        f["existed_before_search_end"] = f["marks"]["process_started"] < search_end
        f["process_lead_s"] = search_end - f["marks"]["process_started"]  # its process started before the end
    return {"warm": warm, "search_s": search_end - tick, "search_end": search_end, "finalists": finalists}


def side_by_side(config, data, pairs: int) -> list[dict]:
    """Pairs of finalists submitted together in one Ray, after one warm-up task: one lands on the warmed
    process, the other on a process without torch; both under the same load. Each finalist's task ends its
    process (``max_calls=1``), so every pair starts from one warm process."""
    import cloudpickle
    import ray

    from cords_tune.tuning.retrain import retrain_job
    from cords_tune.tuning.session import ray_session
    from cords_tune.tuning.warm_workers import warm_workers

    resources = config.resources
    task = ray.remote(num_cpus=resources.cpus_per_trial, num_gpus=resources.gpus_per_trial, max_calls=1)(
        timed_finalist)
    job = cloudpickle.dumps(replace(retrain_job(config, None), until_epoch=1, evaluate=(), keep_model=False))
    rows = []
    with ray_session(None):
        data_ref = ray.put(data)
        for index in range(pairs):
            ray.get(warm_workers(config, 1, data_ref))
            pair = ray.get([task.remote(job, [data_ref], time.time()) for _ in range(2)])
            rows.append({"pair": index, "finalists": pair})
            starts = {("warm" if f["torch_was_imported"] else "cold"): round(phases(f)["start"], 2) for f in pair}
            print(f"pair {index}: start {starts} s", flush=True)
    return rows


def phases(finalist: dict) -> dict[str, float]:
    m = finalist["marks"]
    return {"to_first_line": m["entered"] - m["submitted"], "imports": m["imported"] - m["entered"],
            "data": m["data"] - m["imported"], "build": m["built"] - m["data"], "start": m["built"] - m["submitted"],
            "first_epoch": m["epoch"] - m["built"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", nargs="?", default="experiments/mnist1d.yaml")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each kind, alternated")
    parser.add_argument("--set", action="append", default=[], help="config override FIELD=VALUE")
    parser.add_argument("--out", default=None, help="append each round as a JSON line here")
    parser.add_argument("--pairs", type=int, default=0,
                        help="instead of searches: this many pairs of finalists, one warm one cold, side by side")
    args = parser.parse_args()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    config = load_config(args.config, overrides=["baseline=false", *args.set])
    data = load_and_check(config)
    if args.pairs:
        pairs = side_by_side(config, data, args.pairs)
        if args.out:
            with open(args.out, "a") as out:
                out.writelines(json.dumps(row) + "\n" for row in pairs)
        for kind in (False, True):
            kinds = [phases(f) for row in pairs for f in row["finalists"] if f["torch_was_imported"] is kind]
            print(f"\n{'warm' if kind else 'cold'} ({len(kinds)} finalists): median (min-max) s")
            for name in (kinds[0] if kinds else {}):
                values = [k[name] for k in kinds]
                print(f"  {name:14s} {statistics.median(values):6.2f} ({min(values):.2f}-{max(values):.2f})")
        return
    rows = []
    for index in range(args.rounds):
        for warm in (False, True):
            with tempfile.TemporaryDirectory(prefix="bench-finalist-start-") as folder:
                row = one_round(config, data, warm, Path(folder))
            row["round"] = index
            rows.append(row)
            starts = [round(phases(f)["start"], 2) for f in row["finalists"]]
            print(f"round {index} {'warm' if warm else 'cold'}: search {row['search_s']:.1f} s, finalists' start "
                  f"{starts} s, their processes started {[round(f['process_lead_s'], 1) for f in row['finalists']]} s "
                  f"before the search ended, torch imported there already: "
                  f"{[f['torch_was_imported'] for f in row['finalists']]}", flush=True)
            if args.out:
                with open(args.out, "a") as out:
                    out.write(json.dumps(row) + "\n")
    for warm in (False, True):
        kind = [phases(f) for row in rows if row["warm"] is warm for f in row["finalists"]]
        print(f"\n{'warm' if warm else 'cold'} ({len(kind)} finalists): median (min-max) s")
        for name in kind[0]:
            values = [k[name] for k in kind]
            print(f"  {name:14s} {statistics.median(values):6.2f} ({min(values):.2f}-{max(values):.2f})")
        searches = [row["search_s"] for row in rows if row["warm"] is warm]
        print(f"  {'search':14s} {statistics.median(searches):6.2f} ({min(searches):.2f}-{max(searches):.2f})")


if __name__ == "__main__":
    main()
