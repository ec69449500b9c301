"""Shared subsets without Ray: the proxy trains on the full data, one strategy call chooses the subset, and a
trainer given it trains on exactly that subset every epoch."""

from __future__ import annotations

import pytest
import torch

from cords_tune.config import parse_config
from cords_tune.datasets import DataBundle, load_dataset
from cords_tune.errors import ConfigError
from cords_tune.selection import Subset
from cords_tune.training import Trainer
from cords_tune.training.proxy import SharedSubset, is_shared, select_shared_subset
from cords_tune.tuning.shared_subset import SHARED_SUBSET_FILE, shared_subset_for


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> DataBundle:
    params = {"num_samples": 900, "num_features": 10, "num_classes": 3, "class_sep": 1.0}
    return load_dataset("synthetic", data_dir=tmp_path_factory.mktemp("data"), seed=0, val_fraction=0.2, params=params)


def _config(tiny_experiment, strategy: str = "el2n", **selection):
    raw = dict(tiny_experiment)
    raw["selection"] = {"strategy": strategy, "fraction": 0.2, "every": 1, "proxy": {"epochs": 2}, **selection}
    raw["training"] = {**raw["training"], "epochs": 4}
    raw["search"] = {"space": {}}
    return parse_config(raw)


def test_the_proxy_trains_on_the_full_data_and_chooses_a_subset_of_the_budget(tiny_experiment, data):
    config = _config(tiny_experiment)
    shared = select_shared_subset(config, data)
    assert is_shared(config)
    assert len(shared.indices) == round(0.2 * len(data.y_train))
    assert len(torch.unique(shared.indices)) == len(shared.indices)
    assert shared.proxy_epochs == 2 and shared.proxy_model == "mlp"
    assert 0.0 < shared.proxy_val_accuracy <= 1.0
    assert shared.train_s > 0 and shared.selection_s > 0 and shared.wall_s >= shared.train_s + shared.selection_s
    again = select_shared_subset(config, data)
    assert torch.equal(again.indices, shared.indices), "the same run chooses the same subset"
    other_seed = select_shared_subset(config.model_copy(update={"seed": 1}), data)
    assert not torch.equal(other_seed.indices, shared.indices)


def test_forgetting_reads_the_record_of_the_proxys_training(tiny_experiment, data):
    shared = select_shared_subset(_config(tiny_experiment, "forgetting"), data)
    assert len(shared.indices) == round(0.2 * len(data.y_train))


def test_a_trainer_given_the_shared_subset_trains_on_it_every_epoch_and_selects_nothing(tiny_experiment, data):
    config = _config(tiny_experiment)
    given = Subset(torch.arange(0, 180), torch.ones(180))
    trainer = Trainer(config, data, shared_subset=given)
    history = trainer.fit()
    assert [s.subset_size for s in history] == [180] * 4
    assert not any(s.reselected for s in history)
    assert torch.equal(trainer.subset.indices, given.indices)


def test_a_trainer_without_the_shared_subset_trains_the_proxy_itself(tiny_experiment, data):
    config = _config(tiny_experiment)
    trainer = Trainer(config, data)
    trainer.run_epoch()
    assert torch.equal(trainer.subset.indices.cpu(), select_shared_subset(config, data).indices)


def test_a_kept_shared_subset_is_read_back_and_no_proxy_is_trained(tiny_experiment, data, tmp_path):
    config = _config(tiny_experiment)
    shared = select_shared_subset(config, data)
    shared.save(tmp_path / SHARED_SUBSET_FILE)
    loaded, chosen_now = shared_subset_for(config, None, None, tmp_path)  # no data and no Ray: only the file
    assert not chosen_now
    assert torch.equal(loaded.indices, shared.indices) and loaded.as_dict() == shared.as_dict()
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
    raw["selection"]["proxy"] = {"model": {"name": "no_such_net"}}
    with pytest.raises(ConfigError, match="no_such_net"):
        parse_config(raw)
