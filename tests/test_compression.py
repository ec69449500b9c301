"""Compressed variants of a final model: real mlp / cnn1d models briefly trained on digits and mnist1d, each
variant saved, loaded back with ``cords_tune.load_model`` and measured."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

import cords_tune
from conftest import TINY_EXPERIMENT
from cords_tune.compression import (_calibration_batches, _prepared, compress, compress_run, plan_variants,
                                    prune_magnitude, static_int8, zero_fraction)
from cords_tune.config import parse_config
from cords_tune.results.summary import RunSummary
from cords_tune.datasets import DataBundle, load_dataset
from cords_tune.errors import ConfigError
from cords_tune.final_model import FinalModel
from cords_tune.reports.markdown import render_report
from cords_tune.models import create_model

COMPRESS = {"dynamic_int8": True, "static_int8": True, "prune": [0.5, 0.8], "finetune_epochs": 1,
            "latency_batch": 64, "latency_repeats": 5, "calibration_samples": 128}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """On a busy 2-core machine torch's default two threads make these tiny models 20x slower, not faster."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _config(tmp_path, *, model: dict, dataset: dict, epochs: int, compress: dict = COMPRESS):
    data = copy.deepcopy(TINY_EXPERIMENT)
    data.update(model=model, dataset={**dataset, "data_dir": str(tmp_path / "data")})
    data["training"].update(epochs=epochs, batch_size=64)
    data["search"]["space"] = {}
    data["final"] = {"compress": compress}
    return parse_config(data)


def _trained(tmp_path, config, data: DataBundle):
    """A few epochs of plain minibatch Adam (the Trainer's set-up costs more than this whole training)."""
    torch.manual_seed(0)
    module = create_model(config.model.name, input_shape=data.input_shape, num_classes=data.num_classes,
                          params=config.model.params)
    optimizer = torch.optim.Adam(module.parameters(), lr=config.training.lr)
    x, y = torch.as_tensor(data.x_train, dtype=torch.float32), torch.as_tensor(data.y_train)
    for _ in range(config.training.epochs):
        for index in torch.randperm(len(y)).split(config.training.batch_size):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(module(x[index]), y[index]).backward()
            optimizer.step()
    model = FinalModel.from_training(module.eval(), config, data)
    accuracy = float((model.predict(data.x_test) == data.y_test).mean())
    return model.save(tmp_path / "model.pt"), accuracy


@pytest.fixture(scope="module")
def digits_mlp(tmp_path_factory):
    """An mlp trained 8 epochs on sklearn's digits, and its variants."""
    tmp_path = tmp_path_factory.mktemp("digits")
    config = _config(tmp_path, model={"name": "mlp", "params": {"hidden": 64, "depth": 1}},
                     dataset={"name": "digits"}, epochs=8)
    data = load_dataset("digits", data_dir=tmp_path / "data", seed=0)
    path, accuracy = _trained(tmp_path, config, data)
    return config, data, path, accuracy, compress(path, data, config)


@pytest.fixture(scope="module")
def mnist1d_cnn(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("mnist1d")
    config = _config(tmp_path, model={"name": "cnn1d", "params": {"channels": 16}},
                     dataset={"name": "mnist1d", "params": {"num_samples": 1500}}, epochs=15)
    data = load_dataset("mnist1d", data_dir=tmp_path / "data", seed=0, params={"num_samples": 1500})
    path, accuracy = _trained(tmp_path, config, data)
    return config, data, path, accuracy, compress(path, data, config)


def _by_name(result):
    return {variant.name: variant for variant in result.variants}


@pytest.mark.parametrize("case", ["digits_mlp", "mnist1d_cnn"])
def test_every_variant_is_made_saved_and_measured(case, request):
    config, data, path, accuracy, result = request.getfixturevalue(case)
    variants = _by_name(result)
    assert list(variants) == ["fp32", "dynamic_int8", "static_int8", "pruned_50", "pruned_80"]
    assert all(v.status == "ok" for v in variants.values())
    fp32 = variants["fp32"]
    assert fp32.file == "model.pt" and fp32.test_accuracy == pytest.approx(accuracy, abs=1e-6)
    assert variants["dynamic_int8"].size_bytes < fp32.size_bytes
    assert variants["static_int8"].size_bytes < fp32.size_bytes
    for v in variants.values():
        assert (path.parent / v.file).stat().st_size == v.size_bytes
        assert v.latency_ms > 0 and v.latency_repeats == 5 and v.latency_batch == 64 and v.threads == 1


def test_int8_and_pruned_variants_keep_accuracy_on_digits(digits_mlp):
    _, _, _, accuracy, result = digits_mlp
    assert accuracy > 0.85  # the model learned something, or the bounds below say nothing
    variants = _by_name(result)
    for name in ("dynamic_int8", "static_int8", "pruned_50"):
        assert variants[name].test_accuracy >= accuracy - 0.05, name
    assert variants["pruned_80"].test_accuracy >= accuracy - 0.25


@pytest.mark.parametrize("case", ["digits_mlp", "mnist1d_cnn"])
def test_pruned_variants_have_the_requested_share_of_zero_weights(case, request):
    _, _, path, _, result = request.getfixturevalue(case)
    for name, sparsity in (("pruned_50", 0.5), ("pruned_80", 0.8)):
        variant = _by_name(result)[name]
        loaded = cords_tune.load_model(path.parent / variant.file)
        assert zero_fraction(loaded.module) == pytest.approx(sparsity, abs=1e-3)
        assert variant.zero_fraction == pytest.approx(sparsity, abs=1e-3) and variant.finetune_epochs == 1


@pytest.mark.parametrize("case", ["digits_mlp", "mnist1d_cnn"])
def test_a_saved_int8_variant_loads_with_load_model_and_predicts_as_in_memory(case, request):
    config, data, path, _, result = request.getfixturevalue(case)
    reference = cords_tune.load_model(path)
    calibration = _calibration_batches(reference, data, config.final.compress.calibration_samples, config.seed)
    in_memory = static_int8(copy.deepcopy(reference.module), calibration)
    loaded = cords_tune.load_model(path.parent / "compressed" / "static_int8.pt")
    assert loaded.compressed == "static_int8"
    with torch.no_grad():
        expected = in_memory(_prepared(reference, data.x_test)).argmax(1).numpy()
    np.testing.assert_array_equal(loaded.predict(data.x_test), expected)
    measured = _by_name(result)["static_int8"].test_accuracy
    assert float((loaded.predict(data.x_test) == data.y_test).mean()) == measured
    dynamic = cords_tune.load_model(path.parent / "compressed" / "dynamic_int8.pt")
    assert float((dynamic.predict(data.x_test) == data.y_test).mean()) == _by_name(result)["dynamic_int8"].test_accuracy


NOISE = ("quantized tensor creation functions", "torch.ao.quantization is deprecated", "TypedStorage is deprecated",
         "NumPy array is not writable")


def test_loading_and_predicting_shows_none_of_torchs_noise(digits_mlp, tmp_path):
    """A user loads a variant and predicts on a read-only array (np.load's memory map, Ray's object store): torch's
    deprecation and read-only warnings say nothing about their model and are not shown; a real warning is. In a
    fresh process: torch says some of them once per process."""
    _, data, path, _, _ = digits_mlp
    np.save(tmp_path / "x.npy", data.x_test)
    script = f"""
import json, warnings
import numpy as np
import cords_tune
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    inputs = np.load({str(tmp_path / "x.npy")!r}, mmap_mode="r")
    for file in ("model.pt", "compressed/static_int8.pt", "compressed/dynamic_int8.pt"):
        cords_tune.load_model({str(path.parent)!r} + "/" + file).predict(inputs)
    warnings.warn("a real warning", UserWarning)
print(json.dumps([str(w.message) for w in caught]))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    said = json.loads(done.stdout.splitlines()[-1])
    assert not [line for line in said if any(noise in line for noise in NOISE)], said
    assert "a real warning" in said and not done.stderr, done.stderr


def test_an_int8_variant_refuses_a_gpu_with_a_message(digits_mlp):
    _, _, path, _, _ = digits_mlp
    with pytest.raises(ValueError, match="CPU only"):
        cords_tune.load_model(path.parent / "compressed" / "dynamic_int8.pt", device="cuda")


def test_a_model_that_cannot_be_statically_quantized_is_skipped_with_the_reason(tmp_path):
    # resnet18 adds its shortcut to its residual: torch has no int8 kernel for a plain tensor sum
    config = _config(tmp_path, model={"name": "resnet18", "params": {"width": 4}},
                     dataset={"name": "synthetic", "params": {"num_samples": 120, "num_features": 8, "num_classes": 3}},
                     epochs=1, compress={"static_int8": True, "latency_batch": 8, "latency_repeats": 3})
    rng = np.random.default_rng(0)
    x = rng.random((60, 3, 8, 8), dtype=np.float32)
    y = rng.integers(0, 3, 60)
    data = DataBundle("images", x[:40], y[:40], x[40:50], y[40:50], x[50:], y[50:], num_classes=3)
    cords_tune.FinalModel.from_training(_resnet(data), config, data).save(tmp_path / "model.pt")
    result = compress(tmp_path / "model.pt", data, config)
    skipped = _by_name(result)["static_int8"]
    assert skipped.status == "skipped" and "resnet18 cannot be statically quantized" in skipped.reason
    assert skipped.file is None and not (tmp_path / "compressed" / "static_int8.pt").exists()
    report = render_report(_summary(result), [])
    assert "| static_int8 | skipped |" in report


def _resnet(data):
    return create_model("resnet18", input_shape=data.input_shape, num_classes=3, params={"width": 4})


def _summary(result):
    return RunSummary.from_json({"name": "x", "dataset": "d", "model": "m", "strategy": "full", "fraction": 1.0, "seed": 0,
            "metric": "val_accuracy", "mode": "max", "num_trials": 1, "trials_completed": 1,
            "trials_stopped_early": 0, "trials_diverged": 0, "trials_errored": 0,
                                 "compression": result.as_dicts()})


def test_compress_run_adds_nothing_when_final_compress_is_off(tmp_path):
    config = parse_config({"name": "x"})
    assert not config.final.compress.enabled and compress_run(tmp_path, None, config) is None


def test_plan_names_the_variants_in_order():
    config = parse_config({"name": "x", "final": {"compress": {"prune": [0.875, 0.5], "dynamic_int8": True}}})
    assert [(s.name, s.sparsity) for s in plan_variants(config.final.compress)] == [
        ("dynamic_int8", None), ("pruned_87.5", 0.875), ("pruned_50", 0.5)]


@pytest.mark.parametrize("prune, says", [
    ([1.5], "strictly between 0 and 1"), ([0.0], "strictly between 0 and 1"), (0.5, "must be a list"),
    ([0.5, 0.5], "listed once"), (["half"], "strictly between 0 and 1"),
])
def test_a_bad_sparsity_is_a_config_error_naming_the_field(prune, says):
    with pytest.raises(ConfigError, match=says) as error:
        parse_config({"name": "x", "final": {"compress": {"prune": prune}}})
    assert str(error.value).startswith("final.compress.prune:") and "e.g. prune: [0.5, 0.8]" in str(error.value)


def test_prune_magnitude_keeps_the_zeros_through_the_fine_tune():
    module = torch.nn.Sequential(torch.nn.Linear(10, 20), torch.nn.ReLU(), torch.nn.Linear(20, 3))

    def finetune(m):
        optimizer = torch.optim.SGD(m.parameters(), lr=0.5)
        for _ in range(3):
            optimizer.zero_grad()
            m(torch.randn(16, 10)).sum().backward()
            optimizer.step()

    pruned = prune_magnitude(module, 0.6, finetune=finetune)
    assert zero_fraction(pruned) == pytest.approx(0.6, abs=0.01)
    assert not any("mask" in name for name, _ in pruned.named_buffers())  # made permanent
