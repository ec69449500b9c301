"""Shared subsets without Ray: the proxy trains on the full data, one strategy call chooses the subset, and a
trainer given it trains on exactly that subset every epoch."""

from __future__ import annotations

import pytest
import torch

from cords_tune.config import parse_config
from cords_tune.datasets import DataBundle, load_dataset
from cords_tune.errors import ConfigError
from cords_tune.selection import Subset
from cords_tune.training import build_trainer
from cords_tune.training.proxy import SHARED_SUBSET_FILE, SharedSubset, is_shared, select_shared_subset
from cords_tune.tuning.shared_subset import shared_subset_for


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> DataBundle:
    params = {"num_samples": 900, "num_features": 10, "num_classes": 3, "class_sep": 1.0}
    return load_dataset("synthetic", data_dir=tmp_path_factory.mktemp("data"), seed=0, val_fraction=0.2, params=params)


def _config(tiny_experiment, strategy: str = "el2n", **selection):
    raw = dict(tiny_experiment)
    raw["selection"] = {"strategy": strategy, "fraction": 0.2, "every": 1, "proxy": {"epochs": 2, "pool": 0.5},
                        **selection}
    raw["training"] = {**raw["training"], "epochs": 4}
    raw["search"] = {"space": {}}
    return parse_config(raw)


def test_the_proxy_trains_on_the_full_data_and_chooses_a_subset_of_the_budget(tiny_experiment, data):
    config = _config(tiny_experiment)
    shared = select_shared_subset(config, data)
    assert is_shared(config)
    assert len(shared.indices) == 4, "one subset per reselection of a 4-epoch trial (every 1)"
    for indices in shared.indices:
        assert len(indices) == round(0.2 * len(data.y_train)) and len(torch.unique(indices)) == len(indices)
    assert not torch.equal(shared.indices[0], shared.indices[1]), "each round chooses from another pool"
    record = shared.record
    assert record.proxy_epochs == 2 and record.proxy_model == "mlp"
    assert 0.0 < record.proxy_val_accuracy <= 1.0
    assert record.train_s > 0 and record.selection_s > 0 and record.wall_s >= record.train_s + record.selection_s
    assert (record.rounds, record.size) == (4, len(shared.indices[0]))
    again = select_shared_subset(config, data)
    assert all(map(torch.equal, again.indices, shared.indices)), "the same run chooses the same subsets"
    other_seed = select_shared_subset(config.model_copy(update={"seed": 1}), data)
    assert not torch.equal(other_seed.indices[0], shared.indices[0])


def test_with_the_whole_data_as_pool_every_round_is_one_static_subset(tiny_experiment, data):
    static = select_shared_subset(_config(tiny_experiment, proxy={"epochs": 2, "pool": 1.0}), data)
    assert len(static.indices) == 1 and static.record.rounds == 1
    trainer = build_trainer(_config(tiny_experiment, proxy={"epochs": 2, "pool": 1.0}), data, shared_subsets=static.subsets)
    trainer.fit()
    assert torch.equal(trainer.subset.indices.cpu(), static.indices[0])


def test_forgetting_reads_the_record_of_the_proxys_training(tiny_experiment, data):
    shared = select_shared_subset(_config(tiny_experiment, "forgetting"), data)
    assert len(shared.indices[0]) == round(0.2 * len(data.y_train))


def test_a_trainer_given_the_shared_subsets_trains_on_each_round_in_turn_and_selects_nothing(tiny_experiment, data):
    config = _config(tiny_experiment, every=2)  # epochs 0-1 train on round 0, epochs 2-3 on round 1
    rounds = [Subset(torch.arange(0, 180), torch.ones(180)), Subset(torch.arange(180, 300), torch.ones(120))]
    trainer = build_trainer(config, data, shared_subsets=rounds)
    seen = []
    for _ in range(4):
        stats = trainer.run_epoch()
        seen.append((stats.subset_size, int(trainer.subset.indices[0])))
        assert not stats.reselected
    assert seen == [(180, 0), (180, 0), (120, 180), (120, 180)]


def test_a_trainer_without_the_shared_subset_trains_the_proxy_itself(tiny_experiment, data):
    config = _config(tiny_experiment)
    trainer = build_trainer(config, data)
    trainer.run_epoch()
    assert torch.equal(trainer.subset.indices.cpu(), select_shared_subset(config, data).indices[0])


def test_a_kept_shared_subset_is_read_back_and_no_proxy_is_trained(tiny_experiment, data, tmp_path, monkeypatch):
    import ray

    config = _config(tiny_experiment)
    shared = select_shared_subset(config, data)
    shared.save(tmp_path / SHARED_SUBSET_FILE)
    ray_was_up = ray.is_initialized()  # an earlier test's session may be up: what matters is that none is used
    for name in ("init", "get", "put", "remote"):
        monkeypatch.setattr(ray, name, lambda *a, _name=name, **k: pytest.fail(f"reading kept subsets called ray.{_name}"))
    loaded, chosen_now = shared_subset_for(config, None, None, tmp_path)  # no data and no Ray: only the file
    assert not chosen_now
    assert ray.is_initialized() == ray_was_up, "reading kept subsets starts no Ray (later tests need their own cluster)"
    assert all(map(torch.equal, loaded.indices, shared.indices)) and loaded.record == shared.record
    (tmp_path / "other.pt").write_bytes(b"")
    torch.save({"format": "something else"}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a shared subset"):
        SharedSubset.load(tmp_path / "other.pt")


def test_per_trial_strategies_choose_no_shared_subset(tiny_experiment, tmp_path):
    assert shared_subset_for(_config(tiny_experiment, "random"), None, None, tmp_path) is None


def test_what_a_shared_subset_cannot_do_is_refused_with_the_field(tiny_experiment):
    raw = dict(tiny_experiment)
    raw["selection"] = {"strategy": "el2n", "fraction": 0.2}
    raw["search"] = {"space": {"selection.fraction": {"choice": [0.1, 0.2]}}}
    with pytest.raises(ConfigError, match="one subset per run") as caught:
        parse_config(raw)
    assert caught.value.path == "search.space.selection.fraction"
    raw["search"] = {"space": {"selection.proxy": {"choice": [1, 2]}}}
    with pytest.raises(ConfigError, match="do not search it"):
        parse_config(raw)
    raw["search"] = {"space": {}}
    raw["selection"]["proxy"] = {"epochs": 0}
    with pytest.raises(ConfigError, match="selection.proxy.epochs"):
        parse_config(raw)
    raw["selection"]["proxy"] = {"pool": 0}
    with pytest.raises(ConfigError, match="selection.proxy.pool"):
        parse_config(raw)
    raw["selection"]["proxy"] = {"model": {"name": "no_such_net"}}
    with pytest.raises(ConfigError, match="no_such_net"):
        parse_config(raw)


def test_the_proxy_watch_leaves_its_task_behind_when_tune_saves_the_experiment():
    import pickle

    from cords_tune.tuning.shared_subset import ProxyWatch

    class Task:
        polled = 0

        def poll(self):
            self.polled += 1

    task = Task()
    watch = ProxyWatch(task)
    watch.on_step_begin(0, [])
    assert task.polled == 1
    restored = pickle.loads(pickle.dumps(watch))
    assert restored.task is None
    restored.on_step_begin(1, [])  # a resumed search's copy does nothing


def test_a_shared_subset_file_written_before_records_had_rounds_loads(tmp_path):
    indices = [torch.tensor([0, 2, 4]), torch.tensor([1, 3, 5])]
    flat = {"format": "cords-tune shared subset", "strategy": "el2n", "fraction": 0.2, "pool": 0.5,
            "indices": indices, "weights": [torch.ones(3), torch.ones(3)], "normalized": True, "proxy_model": "mlp",
            "proxy_epochs": 2, "proxy_val_accuracy": 0.7, "train_s": 1.0, "selection_s": 0.1, "wall_s": 1.2}
    torch.save(flat, tmp_path / "old.pt")
    loaded = SharedSubset.load(tmp_path / "old.pt")
    assert (loaded.record.rounds, loaded.record.size, loaded.record.strategy) == (2, 3, "el2n")
    assert torch.equal(loaded.subsets[1].indices, indices[1])
