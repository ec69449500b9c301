"""The finalists' race on the full data: successive halving in segments (real Ray tasks), the losers stopped at a
rung, the winner trained once to the end as if it had never been stopped; its rungs and their validation."""

from __future__ import annotations

import copy
import math
import time

import pytest

from conftest import TINY_EXPERIMENT
from cords_tune.config import apply_params, parse_config
from cords_tune.errors import ConfigError
from cords_tune.preflight import load_and_check
from cords_tune.results.finalist import RaceRecord
from cords_tune.results.trial import TrialRecord
from cords_tune.tuning.race import race_rungs, settle_finalists, winner_workers
from cords_tune.tuning.retrain import retrain_on_cluster

EPOCHS = 6


def trial(index, metric, **params):
    return TrialRecord.from_json({"index": index, "trial_id": f"t{index}", "best_metric": metric, "params": params})


@pytest.mark.parametrize("epochs, candidates, factor, given, rungs", [
    (30, 2, 3, None, [10]),
    (30, 3, 3, None, [10]),
    (30, 4, 3, None, [3, 10]),
    (30, 9, 3, None, [3, 10]),
    (30, 10, 3, None, [1, 3, 10]),
    (30, 4, 2, None, [8, 15]),
    (3, 9, 3, None, [1]),  # 3/9 rounds to 0: no rung before the first epoch
    (30, 1, 3, None, []),  # one finalist: a plain retrain
    (30, 3, 3, [5, 20], [5, 20]),
    (30, 3, 3, [], []),  # every finalist to the end
])
def test_rungs_divide_the_final_epochs_until_one_candidate_is_left(epochs, candidates, factor, given, rungs):
    assert race_rungs(epochs, candidates, factor, given) == rungs


@pytest.mark.parametrize("final, says", [
    ({"rungs": [10, 5]}, "strictly increasing"),
    ({"rungs": [0, 5]}, "at least 1"),
    ({"rungs": [5, 30]}, "below the final epochs (30"),
    ({"rungs": [5, 12], "epochs": 12}, "below the final epochs (12"),
])
def test_rungs_must_increase_and_fall_before_the_last_epoch(final, says):
    with pytest.raises(ConfigError, match="final.rungs") as error:
        parse_config({"training": {"epochs": 30}, "final": final})
    assert says in str(error.value) and "\n" not in str(error.value)
    assert parse_config({"training": {"epochs": 30}, "final": {"rungs": [5, 29]}}).final.rungs == [5, 29]


@pytest.fixture(scope="module")
def race(local_ray, tmp_path_factory):
    """A race of three on the test Ray's two slots (the third candidate's segment waits for one): the subset
    search ranked two learning rates too small to learn anything above a good one."""
    experiment = copy.deepcopy(TINY_EXPERIMENT)
    experiment["dataset"]["data_dir"] = str(tmp_path_factory.mktemp("race") / "data")
    experiment["training"]["epochs"] = EPOCHS
    experiment["resources"] = {"cpus_per_trial": 1}
    config = parse_config(experiment)
    data_ref = local_ray.put(load_and_check(config))
    ranked = [trial(0, 0.9, **{"training.lr": 1e-6}), trial(1, 0.8, **{"training.lr": 0.03}),
              trial(2, 0.7, **{"training.lr": 2e-6})]
    done, epochs, rungs = [], [], []
    settled = settle_finalists(config, ranked, data_ref, 3, on_done=lambda f, left: done.append((f.rank, left)),
                               on_epoch=lambda rank, stats: epochs.append((rank, stats.epoch)),
                               on_rung=rungs.append)
    return config, data_ref, settled, done, epochs, rungs


@pytest.mark.slow
def test_the_weaker_finalists_stop_at_the_rung_and_the_best_trains_on(race):
    config, _, settled, done, epochs, rungs = race
    first, second, third = settled.finalists
    assert settled.winner is second and settled.changed_pick
    assert first.stopped_at == third.stopped_at == 2 and second.stopped_at is None
    assert first.result is None and third.result is None and first.error is None
    assert [s.epoch for s in first.history] == [1, 2] and not first.diverged
    assert first.score() < second.history[1].val_accuracy  # compared at the rung
    assert sorted(rank for rank, _ in done) == [1, 2, 3] and done[-1] == (2, 0)
    assert sorted(epochs) == sorted([(1, 1), (1, 2), (3, 1), (3, 2)] + [(2, e) for e in range(1, EPOCHS + 1)])
    (rung,) = rungs
    assert rung.epoch == 2 and rung.ranks == [1, 2, 3] and rung.kept == [2]
    assert rung.scores == [f.history[1].val_accuracy for f in settled.finalists]


@pytest.mark.slow
def test_the_winner_trains_once_to_the_end_as_an_unsegmented_training_would(race):
    config, data_ref, settled, *_ = race
    winner = settled.winner
    assert [s.epoch for s in winner.history] == list(range(1, EPOCHS + 1))
    assert winner.result.epochs == EPOCHS and winner.result.model is not None
    assert winner.result.wall_s == winner.spent_wall_s  # both segments'
    assert winner.result.train_s == pytest.approx(sum(s.train_s for s in winner.history))
    whole = retrain_on_cluster(apply_params(config, winner.trial.params), data_ref)
    assert winner.result.test_accuracy == whole.test_accuracy
    assert winner.result.val_loss == pytest.approx(whole.val_loss, rel=1e-5)


@pytest.mark.slow
def test_the_race_record_accounts_for_every_segment(race):
    config, _, settled, *_ = race
    record = settled.race
    assert isinstance(record, RaceRecord) and RaceRecord.from_dict(record.as_dict()) == record
    assert record.candidates == 3 and record.winner_rank == 2 and record.epochs == EPOCHS and record.workers == 1
    (rung,) = record.rungs
    assert set(rung.kept) <= set(rung.ranks) and 0 < rung.ended_after_s < record.wall_s
    assert record.device_s == pytest.approx(sum(f.device_s for f in settled.finalists))
    assert 0 < rung.device_s < record.device_s  # the winner's second segment comes after the rung
    assert record.start_s is not None and record.start_s >= 0
    rows = settled.records()
    assert [r.stopped_at for r in rows] == [2, None, 2] and [r.picked for r in rows] == [False, True, False]
    assert [r.epochs for r in rows] == [2, EPOCHS, 2] and rows[0].test_accuracy is None
    assert rows[0].val_accuracy == settled.finalists[0].history[-1].val_accuracy
    assert all(r.device_s > 0 and r.energy_j is not None for r in rows)
    assert not math.isnan(rows[0].full_data_score)
    assert settled.without_models(settled.winner.result).race == record
    assert winner_workers(config) == 1


@pytest.mark.slow
def test_the_winner_alone_asks_for_the_free_slots_that_split_its_batch(race):
    import ray

    config, *_ = race  # the race is over: both of the test Ray's CPUs come free (Ray reports them a moment later)
    deadline = time.monotonic() + 30
    while ray.available_resources().get("CPU", 0) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    def workers(asked, batch):
        return winner_workers(parse_config({**config.to_data(), "final": {"workers": asked},
                                            "training": {**config.to_data()["training"], "batch_size": batch}}))
    assert workers("auto", 32) == 2 and workers(4, 32) == 2 and workers(2, 33) == 1 and workers(1, 32) == 1
