"""A training job run in this process (``run_job``) on small real data: subsets or the full data, the scores it
is asked for, the weights it keeps, and a job continued from another's state."""

from __future__ import annotations

import copy

import pytest
import torch

from cords_tune.config import parse_config
from cords_tune.datasets import DataBundle, load_dataset
from cords_tune.final_model import load_model
from cords_tune.training.job import JobHooks, RunningJob, TrainingJob, run_job


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> DataBundle:
    params = {"num_samples": 600, "num_features": 8, "num_classes": 3, "class_sep": 2.0}
    return load_dataset("synthetic", data_dir=tmp_path_factory.mktemp("data"), seed=0, val_fraction=0.2,
                        params=params)


def _config(tiny_experiment, **training):
    experiment = copy.deepcopy(tiny_experiment)
    experiment["training"].update(epochs=4, **training)
    experiment["selection"] = {"strategy": "random", "fraction": 0.3, "every": 1}
    experiment["search"] = {"space": {}}
    return parse_config(experiment)


def test_a_subset_job_and_a_full_data_job_train_their_epochs_and_keep_a_loadable_model(tiny_experiment, data, tmp_path):
    config = _config(tiny_experiment)
    n = len(data.y_train)
    subset = run_job(TrainingJob(config, data))
    full = run_job(TrainingJob(config, data, epochs=3, full_data=True, evaluate=("test",), keep_model=True))

    assert [s.epoch for s in subset.history] == [1, 2, 3, 4] and subset.epochs == 4
    assert all(s.subset_size < n for s in subset.history) and subset.model is None and subset.scores == {}
    assert [s.subset_size for s in full.history] == [n] * 3 and full.epochs == 3 and full.trained
    assert full.train_s == pytest.approx(sum(s.train_s for s in full.history)) and full.wall_s >= full.train_s
    test = full.scores["test"]
    assert test.accuracy > 0.6  # chance is a third
    saved = load_model(full.model.save(tmp_path / "model.pt"))
    assert saved.info["epochs"] == 3 and saved.info["test_accuracy"] == test.accuracy
    assert float((saved.predict(data.x_test) == data.y_test).mean()) == pytest.approx(test.accuracy)


class _Killed(Exception):
    pass


class _StopAfter(JobHooks):
    """Keeps the trainer's state after epoch ``epoch``, then stops the job (as a killed worker would)."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch
        self.state = None

    def on_epoch(self, stats, job: RunningJob) -> None:
        if stats.epoch == self.epoch:
            self.state = copy.deepcopy(job.trainer.state_dict())
            raise _Killed


class _From(JobHooks):
    def __init__(self, state) -> None:
        self.state = state

    def restore(self, device: torch.device):
        return self.state


def test_a_job_restored_from_another_continues_it_exactly_and_one_that_only_evaluates_scores_it(
    tiny_experiment, data
):
    config = _config(tiny_experiment)
    whole = run_job(TrainingJob(config, data, keep_model=True))
    stopped = _StopAfter(2)
    with pytest.raises(_Killed):
        run_job(TrainingJob(config, data, hooks=stopped))
    continued = run_job(TrainingJob(config, data, keep_model=True, hooks=_From(stopped.state)))

    assert [s.epoch for s in continued.history] == [3, 4]
    assert [s.val_loss for s in continued.history] == [s.val_loss for s in whole.history[2:]]
    for name, tensor in whole.model.state_dict.items():
        assert torch.equal(tensor, continued.model.state_dict[name]), name

    finished = _StopAfter(4)
    with pytest.raises(_Killed):
        run_job(TrainingJob(config, data, hooks=finished))
    evaluated = run_job(TrainingJob(config, data, train=False, evaluate=("test", "val"), keep_model=True,
                                    hooks=_From(finished.state)))
    assert evaluated.history == [] and evaluated.epochs == 4 and not evaluated.trained
    assert evaluated.scores["val"].loss == pytest.approx(whole.history[-1].val_loss)
    assert evaluated.model.info["retrained"] is False and set(evaluated.scores) == {"test", "val"}


@pytest.mark.parametrize("given, says", [
    ({"workers": 0}, "The 'workers' parameter of TrainingJob must be at least 1"),
    ({"until_epoch": 0}, "The 'until_epoch' parameter of TrainingJob must be at least 1 or None"),
    ({"evaluate": ("train",)}, "The 'evaluate' parameter of TrainingJob must name splits of ('val', 'test')"),
])
def test_a_job_refuses_what_it_cannot_run(tiny_experiment, data, given, says):
    with pytest.raises(ValueError, match="Got") as error:
        TrainingJob(_config(tiny_experiment), data, **given)
    assert str(error.value).startswith(says)


def test_a_training_in_segments_ends_where_the_whole_training_does(tiny_experiment, data):
    config = _config(tiny_experiment)
    whole = run_job(TrainingJob(config, data, full_data=True, evaluate=("test",)))
    first = run_job(TrainingJob(config, data, full_data=True, until_epoch=2, keep_state=True))
    rest = run_job(TrainingJob(config, data, full_data=True, start_state=first.state, evaluate=("test",)))

    assert [s.epoch for s in first.history] == [1, 2] and first.epochs == 2 and first.state["epoch"] == 2
    assert all(t.device.type == "cpu" for t in first.state["model"].values())
    assert [s.epoch for s in rest.history] == [3, 4] and rest.state is None
    assert rest.history[-1].train_loss == pytest.approx(whole.history[-1].train_loss, rel=1e-6)
    assert rest.scores["test"].accuracy == whole.scores["test"].accuracy


def test_a_job_started_from_given_weights_starts_from_that_model(tiny_experiment, data):
    config = _config(tiny_experiment)
    trained = run_job(TrainingJob(config, data, full_data=True, keep_state=True))
    weights = trained.state["model"]
    fresh = run_job(TrainingJob(config, data, full_data=True, train=False, evaluate=("val",)))
    started = run_job(TrainingJob(config, data, full_data=True, train=False, evaluate=("val",), start_weights=weights))
    assert started.scores["val"].loss == pytest.approx(trained.history[-1].val_loss)
    assert started.scores["val"].loss < fresh.scores["val"].loss


def test_run_job_refuses_a_data_parallel_job(tiny_experiment, data):
    with pytest.raises(ValueError, match="data_parallel"):
        run_job(TrainingJob(_config(tiny_experiment), data, workers=2))
