"""Rank fidelity: sampled configurations trained to the end on subsets and on the full data."""

from __future__ import annotations

import json

import pytest
import torch

from cords_tune.config import apply_params, parse_config
from cords_tune.errors import ConfigError
from cords_tune.preflight import load_and_check
from cords_tune.rank_agreement import rank_agreement
from cords_tune.results.fidelity import Fidelity
from cords_tune.runs import full_data_variant
from cords_tune.runs.fidelity import measure_fidelity
from cords_tune.tuning.fidelity import sample_configs, train_to_end


def test_sampled_configurations_are_reproducible_and_inside_the_space(tiny_experiment):
    config = parse_config(tiny_experiment)
    points = sample_configs(config, 30)
    assert points == sample_configs(config, 30)
    assert points != sample_configs(config.model_copy(update={"seed": 1}), 30)
    for point in points:
        assert set(point) == {"training.lr", "model.params.hidden"}
        assert type(point["training.lr"]) is float and 1e-3 <= point["training.lr"] <= 1e-1
        assert type(point["model.params.hidden"]) is int and point["model.params.hidden"] in (16, 32)
    assert len({p["training.lr"] for p in points}) == 30


@pytest.mark.slow
def test_fidelity_trains_each_configuration_to_the_end_on_both_and_compares_rankings(
    local_ray, tiny_experiment, tmp_path
):
    tiny_experiment["selection"]["strategy"] = "gradmatch"
    config = parse_config(tiny_experiment)
    result = measure_fidelity(config, 3, output_dir=tmp_path / "out")
    fidelity = result.fidelity

    written = json.loads((result.run_dir / "fidelity.json").read_text())
    assert written == fidelity.to_json() and Fidelity.from_json(written) == fidelity and fidelity.wall_s > 0
    assert (result.run_dir / "fidelity.png").read_bytes().startswith(b"\x89PNG")
    assert fidelity.num_configs == 3 and fidelity.epochs == config.training.epochs
    assert [c.params for c in fidelity.configs] == sample_configs(config, 3)
    expected = rank_agreement([c.score_subset for c in fidelity.configs], [c.score_full for c in fidelity.configs])
    assert {k: written[k] for k in expected} == pytest.approx(expected)

    # Each full-data score is that configuration trained on all the data for every epoch.
    point = fidelity.configs[0].params
    threads = torch.get_num_threads()
    try:
        again = train_to_end(apply_params(full_data_variant(config), point), load_and_check(config))
    finally:
        torch.set_num_threads(threads)
    assert again["epochs"] == config.training.epochs
    assert again["score"] == pytest.approx(fidelity.configs[0].score_full)


@pytest.mark.parametrize(
    ("change", "count", "message"),
    [
        ({}, 1, "at least 2"),
        ({"selection": {"strategy": "full"}}, 4, "'full'"),
        ({"search": {"space": {}}}, 4, "search.space is empty"),
    ],
)
def test_fidelity_refuses_what_it_cannot_measure_before_starting_anything(tiny_experiment, tmp_path, change, count, message):
    tiny_experiment.update(change)
    with pytest.raises(ConfigError, match=message):
        measure_fidelity(parse_config(tiny_experiment), count, output_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()
