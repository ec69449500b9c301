"""The Python API without Ray: experiments from paths, mappings and objects; data and models given as objects."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import yaml
from torch import nn
from torch.utils.data import TensorDataset

import cords_tune
from cords_tune.api import experiment
from cords_tune.datasets.given import GIVEN
from cords_tune.errors import ConfigError
from cords_tune.models.given import GivenModel, as_classifier
from cords_tune.preflight import load_and_check

SMALL = {
    "name": "api",
    "training": {"epochs": 2, "batch_size": 16, "device": "cpu"},
    "selection": {"strategy": "random", "fraction": 0.5},
    "search": {"num_trials": 2, "space": {"model.params.hidden": {"choice": [8, 16]}}},
}


def blobs(n: int = 120, classes: int = 3, features: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    return rng.normal(size=(n, features)) + 2.0 * y[:, None], y


def net(input_shape, num_classes, hidden=16):
    return nn.Sequential(nn.Flatten(), nn.Linear(int(np.prod(input_shape)), hidden), nn.ReLU(),
                         nn.Linear(hidden, num_classes))


class ClassNet(nn.Module):
    def __init__(self, num_classes: int, hidden: int = 8) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.LazyLinear(hidden), nn.Tanh())
        self.out = nn.Linear(hidden, num_classes)

    def forward(self, x):
        return self.out(self.body(x))


def test_the_package_exposes_the_api():
    assert callable(cords_tune.run) and callable(cords_tune.trainable) and callable(cords_tune.resume)
    assert cords_tune.ConfigError is ConfigError and issubclass(cords_tune.ConfigError, ValueError)


def test_data_and_model_given_make_the_experiment_python_ones():
    config = experiment(SMALL, data=True, model=True)
    assert config.dataset.name == GIVEN and config.model.name == GIVEN
    assert config.search.space["model.params.hidden"].values == [8, 16], "searched params go to the factory"
    assert experiment(SMALL).dataset.name == "mnist1d", "nothing given: the defaults stay"


def test_an_experiment_that_names_its_dataset_refuses_data_given(tmp_path):
    named = {**SMALL, "dataset": {"name": "digits"}}
    with pytest.raises(ConfigError, match="data= was given from Python, but the experiment names dataset 'digits'"):
        experiment(named, data=True)
    file = tmp_path / "e.yaml"
    file.write_text(yaml.safe_dump(named))
    with pytest.raises(ConfigError, match="names dataset 'digits'"):
        experiment(file, data=True)
    assert experiment(file, overrides=["training.lr=0.2"]).training.lr == 0.2


def test_a_config_object_is_taken_as_it_is_or_with_overrides():
    config = experiment(SMALL)
    assert experiment(config) is config
    assert experiment(config, overrides=["seed=3"]).seed == 3
    assert experiment(config, data=True).dataset.name == GIVEN


@pytest.mark.parametrize("form", ["pair", "four", "mapping", "tensors", "dataset", "datasets"])
def test_every_form_of_data_becomes_the_same_splits(form):
    x, y = blobs()
    x_test, y_test = blobs(30, seed=1)
    given = {
        "pair": (x, y),
        "four": (x, y, x_test, y_test),
        "mapping": {"x_train": x, "y_train": y, "x_test": x_test, "y_test": y_test},
        "tensors": (torch.tensor(x), torch.tensor(y)),
        "dataset": TensorDataset(torch.tensor(x), torch.tensor(y)),
        "datasets": (TensorDataset(torch.tensor(x), torch.tensor(y)),
                     TensorDataset(torch.tensor(x_test), torch.tensor(y_test))),
    }[form]
    config = experiment(SMALL, data=True, model=True)
    data = load_and_check(config, data=given, model=GivenModel(net))
    assert data.x_train.dtype == np.float32 and data.input_shape == (5,) and data.num_classes == 3
    assert len(data.y_train) + len(data.y_val) + len(data.y_test) == (150 if form in ("four", "mapping", "datasets")
                                                                         else 120)
    assert data.mean is not None, "float features are standardized by default, as for npz"


def test_a_data_bundle_is_used_as_it_is():
    config = experiment(SMALL, data=True, model=True)
    first = load_and_check(config, data=blobs(), model=GivenModel(net))
    assert load_and_check(config, data=first, model=GivenModel(net)) is first


@pytest.mark.parametrize(
    ("given", "expect"),
    [
        ("data.csv", "must be a DataBundle, .* Got str"),
        ((np.zeros((10, 3)), np.zeros(9)), "must hold one label per sample"),
        ({"x_train": np.zeros((4, 2))}, "must be a mapping with x_train and y_train"),
        ((np.zeros((6, 2)), np.array([0.5] * 6)), "non-integral numbers"),
    ],
)
def test_bad_data_is_a_config_error_at_data(given, expect):
    config = experiment(SMALL, data=True, model=True)
    with pytest.raises(ConfigError, match=expect) as caught:
        load_and_check(config, data=given, model=GivenModel(net))
    assert caught.value.path == "data"


def test_a_python_dataset_without_data_says_to_pass_it():
    with pytest.raises(ConfigError, match=r"no data was passed. Pass it again: cords_tune.run\(experiment, data=...\)"):
        load_and_check(experiment(SMALL, data=True))


def test_a_network_is_wrapped_around_its_last_linear_layer():
    network = net((5,), 3, hidden=7)
    model = as_classifier(network, 3)
    x = torch.randn(4, 5)
    assert torch.equal(model(x), network(x))
    assert torch.allclose(model.embed(x), network[:3](x)), "embed is what enters the last nn.Linear"
    assert model.head is network[3] and model.embedding_dim == 7
    assert set(model.state_dict()) == {f"network.{k}" for k in network.state_dict()}, "weights are saved once"


def test_an_nn_module_class_takes_the_arguments_it_declares():
    model = GivenModel(ClassNet).build((5,), 3, {"hidden": 4})
    assert model(torch.randn(2, 5)).shape == (2, 3) and model.embedding_dim == 4


@pytest.mark.parametrize(
    ("factory", "params", "expect"),
    [
        (net, {"width": 3}, r"cannot be called with .*'width'.*Its parameters are: input_shape, num_classes, hidden"),
        (lambda input_shape, num_classes: "not a module", {}, "must build an nn.Module. Got str"),
        (lambda input_shape, num_classes: nn.Sequential(nn.Flatten(), nn.ReLU()), {}, "an nn.Linear with 3 outputs"),
        (net, {"num_classes": 4}, "num_classes come from the data"),
    ],
)
def test_a_factory_that_cannot_build_is_a_config_error(factory, params, expect):
    with pytest.raises(ConfigError, match=expect):
        GivenModel(factory).build((5,), 3, params)


def test_a_network_with_the_wrong_output_is_refused_before_any_trial():
    config = experiment(SMALL, data=True, model=True)
    wrong = GivenModel(lambda input_shape, num_classes, hidden=4: net(input_shape, num_classes + 1, hidden))
    with pytest.raises(ConfigError, match=r"last layer is an nn.Linear with 3 outputs \(one per class"):
        load_and_check(config, data=blobs(), model=wrong)


def test_a_head_of_the_wrong_width_is_named_with_what_it_has_and_what_the_data_needs():
    config = experiment(SMALL, data=True, model=True)
    five = GivenModel(lambda input_shape, num_classes: nn.Sequential(nn.Flatten(), nn.Linear(5, 8), nn.ReLU(),
                                                                     nn.Linear(8, 5)))
    with pytest.raises(ConfigError) as info:
        load_and_check(config, data=blobs(classes=2), model=five)
    message = str(info.value)
    assert "nn.Linear with 2 outputs" in message and "Its last nn.Linear has 5 outputs" in message, message
    assert "in_features=8, out_features=5" in message and "num_classes=2" in message and "none" not in message
    with pytest.raises(ConfigError, match="It has no nn.Linear"):
        GivenModel(lambda input_shape, num_classes: nn.Sequential(nn.Flatten(), nn.ReLU())).build((5,), 3, {})


def test_a_model_given_from_python_is_loaded_with_its_factory(tmp_path):
    from cords_tune.final_model import FinalModel

    config = experiment(SMALL, data=True, model=True)
    data = load_and_check(config, data=blobs(), model=GivenModel(net))
    module = GivenModel(net).build(data.input_shape, data.num_classes, {"hidden": 16})
    path = FinalModel.from_training(module, config, data).save(tmp_path / "model.pt")
    loaded = cords_tune.load_model(path, model=net)
    x = data.x_test[:5]
    assert loaded.predict(x).tolist() == cords_tune.load_model(path, model=net).predict(x).tolist()
    with pytest.raises(ConfigError, match="no model was passed"):
        cords_tune.load_model(path).predict(x)


class HeadFirst(nn.Module):
    """The class head is registered before the body: the last-registered Linear is not the head."""

    def __init__(self, input_shape, num_classes, hidden=12):
        super().__init__()
        self.fc = nn.Linear(hidden, num_classes)
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(int(np.prod(input_shape)), hidden), nn.ReLU())

    def forward(self, x):
        return self.fc(self.body(x))


def test_the_head_is_the_linear_layer_with_one_output_per_class():
    model = GivenModel(HeadFirst).build((5,), 3, {})
    assert model.head is model.network.fc and model.embedding_dim == 12


@pytest.mark.parametrize(
    ("factory", "expect"),
    [
        (lambda input_shape, num_classes: nn.Sequential(nn.Flatten(), nn.Linear(5, num_classes), nn.Softmax(1)),
         "its logits are not the output of its last nn.Linear"),
        (lambda input_shape, num_classes: nn.Sequential(nn.Flatten(), nn.Linear(5, num_classes, bias=False)),
         "must have a bias"),
    ],
)
def test_a_head_selection_cannot_use_is_refused_before_any_trial(factory, expect):
    config = experiment(SMALL, data=True, model=True)
    with pytest.raises(ConfigError, match=expect):
        load_and_check(config.model_copy(update={"search": config.search.model_copy(update={"space": {}})}),
                       data=blobs(), model=GivenModel(factory))


def test_a_built_network_is_refused_with_what_to_pass_instead():
    with pytest.raises(ConfigError, match=r"Got a built Sequential: pass its class \(Sequential\) or a function"):
        GivenModel(net((5,), 3))


def test_an_error_inside_the_factory_is_reported_with_its_line():
    def broken(input_shape, num_classes, hidden=4):
        raise ValueError("hidden must be even")

    with pytest.raises(ConfigError, match=r"failed to build the network .*ValueError: hidden must be even \(at .*test_api.py"):
        GivenModel(broken).build((5,), 3, {"hidden": 3})


def test_a_dataset_of_mixed_shapes_is_refused():
    items = TensorDataset(torch.zeros(4, 3), torch.zeros(4, dtype=torch.long))
    mixed = [items[0], (torch.zeros(5), torch.tensor(1))]

    class Mixed(torch.utils.data.Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return mixed[i]

    with pytest.raises(ConfigError, match="must give inputs of one shape from its train Dataset"):
        load_and_check(experiment(SMALL, data=True, model=True), data=Mixed(), model=GivenModel(net))


def test_a_registry_model_is_not_loaded_with_a_factory(tmp_path):
    from cords_tune.final_model import FinalModel
    from cords_tune.models import create_model

    config = experiment({**SMALL, "dataset": {"name": "synthetic", "params": {"num_samples": 120}}})
    data = load_and_check(config)
    module = create_model("mlp", input_shape=data.input_shape, num_classes=data.num_classes, params={})
    path = FinalModel.from_training(module, config, data).save(tmp_path / "model.pt")
    with pytest.raises(ValueError, match="holds the registered model 'mlp'.*load it without model="):
        cords_tune.load_model(path, model=net)


def test_a_trainable_for_your_own_tuner_refuses_validation_at_decisions():
    with pytest.raises(ConfigError, match="your own Tuner") as error:
        cords_tune.trainable({**SMALL, "training": {**SMALL["training"], "validation": "at_decisions"}})
    assert error.value.path == "training.validation"
