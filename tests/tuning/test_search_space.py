from ray.tune.search.sample import Categorical, Float, Integer

from cords_tune.config import Domain
from cords_tune.tuning.search_space import to_tune_space


def test_domains_convert_with_inclusive_integer_bounds():
    space = to_tune_space(
        {
            "training.lr": Domain(kind="loguniform", values=[1e-4, 1e-1]),
            "training.momentum": Domain(kind="uniform", values=[0.5, 0.99]),
            "model.params.hidden": Domain(kind="int", values=[8, 64]),
            "model.params.channels": Domain(kind="logint", values=[8, 64]),
            "training.optimizer": Domain(kind="choice", values=["sgd", "adam"]),
        }
    )
    assert isinstance(space["training.lr"], Float) and space["training.lr"].lower == 1e-4
    assert isinstance(space["model.params.hidden"], Integer)
    assert (space["model.params.hidden"].lower, space["model.params.hidden"].upper) == (8, 65)
    assert space["model.params.channels"].upper == 65
    assert isinstance(space["training.optimizer"], Categorical)
    assert space["training.optimizer"].categories == ["sgd", "adam"]
    samples = [space["model.params.hidden"].sample() for _ in range(200)]
    assert min(samples) >= 8 and max(samples) <= 64


def test_device_auto_means_the_cpu_for_a_trial_given_no_gpu():
    from cords_tune.config import parse_config
    from cords_tune.tuning.worker import on_this_worker

    config = parse_config({"name": "x", "training": {"device": "auto"}, "resources": {"gpus_per_trial": 0}})
    assert on_this_worker(config).training.device == "cpu"
    with_gpu = parse_config({"name": "x", "training": {"device": "auto"}, "resources": {"gpus_per_trial": 0.5}})
    assert on_this_worker(with_gpu).training.device == "auto"
