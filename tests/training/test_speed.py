"""training.precision and training.channels_last: how each resolves on a device, what falls back (with one
warning), that the forward passes really run in the precision chosen, and that checkpoints of every option
continue exactly. The GPU paths are exercised through their CPU fallbacks and with the GPU's answers patched."""

from __future__ import annotations

import io
import logging

import pytest
import torch

from cords_tune.config import parse_config
from cords_tune.datasets import load_dataset
from cords_tune.errors import ConfigError
from cords_tune.models import build_model
from cords_tune.preflight import check_against_data
from cords_tune.training import build_trainer, speed
from cords_tune.training.speed import Precision, resolve_precision, use_channels_last

CPU, CUDA = torch.device("cpu"), torch.device("cuda")


@pytest.fixture
def data(tmp_path):
    return load_dataset("synthetic", data_dir=tmp_path, seed=0, params={"num_samples": 600, "num_features": 8})


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return load_dataset("digits", data_dir=tmp_path_factory.mktemp("digits"), seed=0)


def _config(tiny_experiment, **training):
    return parse_config({**tiny_experiment, "training": {**tiny_experiment["training"], **training},
                         "selection": {"strategy": "gradmatch", "fraction": 0.3, "every": 2, "max_cost_share": 1.0},
                         "search": {"space": {}}})


def _image_config(tiny_experiment, **training):
    return parse_config({**tiny_experiment, "dataset": {"name": "digits"}, "model": {"name": "lenet"},
                         "training": {**tiny_experiment["training"], "epochs": 2, **training}, "search": {"space": {}}})


def _roundtrip(state):
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def _warnings(caplog):
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and r.name == speed.__name__]


# ---------------------------------------------------------------------------------------------- resolution


def test_auto_and_fp32_are_fp32_on_the_cpu_without_a_warning(caplog):
    assert resolve_precision("auto", CPU) == Precision("fp32", "cpu")
    assert resolve_precision("fp32", CPU) == Precision("fp32", "cpu")
    assert _warnings(caplog) == []


def test_fp16_on_the_cpu_falls_back_to_fp32_with_one_warning(caplog):
    assert resolve_precision("fp16", CPU).name == "fp32"
    (message,) = _warnings(caplog)
    assert "training.precision is fp16" in message and "fp32" in message and "auto" in message


def test_bf16_on_the_cpu_runs_through_cpu_autocast(caplog):
    precision = resolve_precision("bf16", CPU)
    assert precision == Precision("bf16", "cpu")
    with precision.autocast():
        assert torch.nn.Linear(4, 2)(torch.randn(3, 4)).dtype == torch.bfloat16
    # Only a CPU without bfloat16 instructions is warned about (emulated, slow); it still runs bf16.
    assert len(_warnings(caplog)) == (0 if speed._cpu_bf16_native() else 1)


@pytest.mark.parametrize(("requested", "native_bf16", "expected", "warned"), [
    ("auto", True, "bf16", False),
    ("auto", False, "fp32", False),
    ("bf16", True, "bf16", False),
    ("bf16", False, "fp32", True),
    ("fp16", False, "fp16", False),
    ("fp32", True, "fp32", False),
])
def test_resolution_on_a_gpu(monkeypatch, caplog, requested, native_bf16, expected, warned):
    monkeypatch.setattr(speed, "_cuda_bf16", lambda device: native_bf16)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Tesla V100")
    assert resolve_precision(requested, CUDA) == Precision(expected, "cuda")
    messages = _warnings(caplog)
    assert len(messages) == int(warned)
    if warned:
        assert "Tesla V100 has no native bfloat16" in messages[0]


def test_only_fp16_has_an_enabled_gradient_scaler():
    assert not Precision("fp32", "cpu").grad_scaler().is_enabled()
    assert not Precision("bf16", "cpu").grad_scaler().is_enabled()
    assert Precision("fp16", "cpu").grad_scaler().is_enabled()


# ---------------------------------------------------------------------------------------------- training


def _forward_dtypes(trainer):
    """The dtypes the model's last layer produced, recorded while the trainer works."""
    seen = []
    trainer.model.head.register_forward_hook(lambda module, inputs, output: seen.append(output.dtype))
    return seen


def test_a_bf16_epoch_on_the_cpu_trains_evaluates_and_selects_in_bf16(tiny_experiment, data):
    config = _config(tiny_experiment, precision="bf16", epochs=4)
    trainer = build_trainer(config, data)
    seen = _forward_dtypes(trainer)
    history = trainer.fit()
    assert all(s.bf16 and not s.fp16 for s in history)
    assert set(seen) == {torch.bfloat16}  # training, evaluation and the gradient features of selection
    assert any(s.reselected for s in history[1:])  # gradmatch selected from bf16 features
    assert all(p.dtype == torch.float32 for p in trainer.model.parameters())
    assert history[-1].val_accuracy > 0.6  # chance is 1/3
    fp32 = build_trainer(_config(tiny_experiment, precision="fp32", epochs=4), data).fit()
    assert history[-1].val_accuracy == pytest.approx(fp32[-1].val_accuracy, abs=0.1)


def test_fp16_asked_for_on_the_cpu_trains_in_fp32_and_says_so(tiny_experiment, data, caplog):
    trainer = build_trainer(_config(tiny_experiment, precision="fp16"), data)
    seen = _forward_dtypes(trainer)
    stats = trainer.run_epoch()
    assert not stats.fp16 and not stats.bf16
    assert set(seen) == {torch.float32}
    assert not trainer.scaler.is_enabled()
    assert len([m for m in _warnings(caplog) if "training.precision is fp16" in m]) == 1


@pytest.fixture
def fp16_on_the_cpu(monkeypatch):
    """fp16 as a GPU runs it (autocast + gradient scaler), on the CPU: torch's CPU autocast has float16."""
    monkeypatch.setattr("cords_tune.training.parts.resolve_precision", lambda r, d: Precision("fp16", "cpu"))


def test_fp16_trains_with_a_gradient_scaler_whose_state_is_checkpointed(tiny_experiment, data, fp16_on_the_cpu):
    trainer = build_trainer(_config(tiny_experiment, precision="fp16"), data)
    seen = _forward_dtypes(trainer)
    stats = trainer.run_epoch()
    assert stats.fp16 and set(seen) == {torch.float16} and trainer.scaler.is_enabled()
    state = _roundtrip(trainer.state_dict())
    assert state["scaler"]["scale"] == trainer.scaler.get_scale()
    state["scaler"]["scale"] = 1024.0
    restored = build_trainer(_config(tiny_experiment, precision="fp16"), data)
    restored.load_state_dict(state)
    assert restored.scaler.get_scale() == 1024.0


@pytest.mark.parametrize("precision", ["auto", "fp32", "bf16", "fp16", "fp16 as on a GPU"])
def test_every_precision_continues_exactly_from_a_checkpoint(tiny_experiment, data, request, precision):
    if precision == "fp16 as on a GPU":
        request.getfixturevalue("fp16_on_the_cpu")
        precision = "fp16"
    config = _config(tiny_experiment, precision=precision, epochs=6)
    straight = build_trainer(config, data).fit()
    first = build_trainer(config, data)
    for _ in range(3):
        first.run_epoch()
    resumed = build_trainer(config, data)
    resumed.load_state_dict(_roundtrip(first.state_dict()))
    rest = resumed.fit()
    assert [s.epoch for s in rest] == [4, 5, 6]
    assert [(s.train_loss, s.val_loss) for s in rest] == [(s.train_loss, s.val_loss) for s in straight[3:]]


def test_a_checkpoint_written_before_precision_existed_still_loads(tiny_experiment, data, fp16_on_the_cpu):
    config = _config(tiny_experiment, precision="fp16", epochs=4)
    first = build_trainer(config, data)
    first.run_epoch()
    old = _roundtrip(first.state_dict())
    del old["scaler"], old["last_val"]
    resumed = build_trainer(config, data)
    resumed.load_state_dict(old)
    assert resumed.scaler.get_scale() == build_trainer(config, data).scaler.get_scale()  # a fresh scaler's
    assert [s.epoch for s in resumed.fit()] == [2, 3, 4]


def test_an_fp16_checkpoint_continues_in_fp32_where_fp16_falls_back(tiny_experiment, data, monkeypatch):
    config = _config(tiny_experiment, precision="fp16", epochs=3)
    with monkeypatch.context() as patched:
        patched.setattr("cords_tune.training.parts.resolve_precision", lambda r, d: Precision("fp16", "cpu"))
        first = build_trainer(config, data)
        first.run_epoch()
        state = _roundtrip(first.state_dict())
    assert state["scaler"]
    resumed = build_trainer(config, data)  # on the CPU: fp32
    resumed.load_state_dict(state)
    assert not resumed.scaler.is_enabled()
    assert all(not s.fp16 for s in resumed.fit())


# ---------------------------------------------------------------------------------------------- channels-last


def test_channels_last_applies_to_conv_models_on_images_and_auto_means_a_gpu(images):
    lenet = build_model("lenet", {}, input_shape=images.input_shape, num_classes=10)
    mlp = build_model("mlp", {}, input_shape=images.input_shape, num_classes=10)
    cnn1d = build_model("cnn1d", {}, input_shape=(1, 40), num_classes=10)
    assert use_channels_last("auto", CUDA, lenet, images.input_shape)
    assert not use_channels_last("auto", CPU, lenet, images.input_shape)
    assert use_channels_last(True, CPU, lenet, images.input_shape)
    assert not use_channels_last(False, CUDA, lenet, images.input_shape)
    assert not use_channels_last(True, CUDA, mlp, images.input_shape)  # no convolution
    assert not use_channels_last("auto", CUDA, cnn1d, (1, 40))  # 1-D convolutions on sequences


def test_a_channels_last_trainer_keeps_model_and_batches_in_that_order(tiny_experiment, images):
    trainer = build_trainer(_image_config(tiny_experiment, channels_last=True), images)
    conv = next(m for m in trainer.model.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    seen = []
    conv.register_forward_pre_hook(lambda module, inputs: seen.append(
        inputs[0].is_contiguous(memory_format=torch.channels_last)))
    last = trainer.fit()[-1]
    assert last.channels_last and seen and all(seen)  # training batches (augmented too) and evaluation
    plain = build_trainer(_image_config(tiny_experiment, channels_last=False), images).fit()[-1]
    assert not plain.channels_last
    # The same computation in another memory order: equal up to the summation order of the kernels.
    assert last.val_loss == pytest.approx(plain.val_loss, rel=1e-3)
    tested = [tuple(build_trainer(_image_config(tiny_experiment, channels_last=flag), images).evaluate_test())
              for flag in (True, False)]  # (loss, accuracy) each
    assert tested[0] == pytest.approx(tested[1], rel=1e-4)


def test_auto_is_off_on_the_cpu(tiny_experiment, images):
    assert not build_trainer(_image_config(tiny_experiment), images).channels_last


def test_channels_last_true_where_it_cannot_apply_is_refused_before_training(tiny_experiment, images):
    config = parse_config({**tiny_experiment, "dataset": {"name": "digits"}, "model": {"name": "mlp"},
                           "training": {**tiny_experiment["training"], "channels_last": True}, "search": {"space": {}}})
    with pytest.raises(ConfigError, match="channels_last is true") as error:
        check_against_data(config, images)
    assert error.value.path == "training.channels_last"
    assert f"inputs of shape {images.input_shape}" in str(error.value) and "'mlp'" in str(error.value)


class ViewAfterConv(torch.nn.Module):
    """A user's network that reshapes a convolution's output with ``.view``, which only the default order allows."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.fc = torch.nn.Linear(4 * 8 * 8, num_classes)

    def forward(self, x):
        h = torch.relu(self.conv(x))
        return self.fc(h.view(h.shape[0], -1))


def _given_config(tiny_experiment, channels_last):
    return parse_config({**tiny_experiment, "dataset": {"name": "python"}, "model": {"name": "python"},
                         "training": {**tiny_experiment["training"], "epochs": 1, "channels_last": channels_last},
                         "search": {"space": {}}})


def test_a_model_that_fails_in_channels_last_order_trains_in_the_default_one_under_auto(
        tiny_experiment, images, monkeypatch, caplog):
    from cords_tune.models.given import GivenModel

    monkeypatch.setattr("cords_tune.training.parts.use_channels_last", lambda *args: True)  # as on a GPU
    with caplog.at_level(logging.WARNING):
        trainer = build_trainer(_given_config(tiny_experiment, "auto"), images, model=GivenModel(ViewAfterConv))
    assert not trainer.channels_last and not trainer.train.channels_last
    assert trainer.model.network.conv.weight.is_contiguous()
    assert any("fails in channels-last memory order" in r.getMessage() for r in caplog.records)
    assert not trainer.run_epoch().channels_last


def test_channels_last_true_with_a_model_that_fails_in_that_order_is_a_config_error(tiny_experiment, images):
    from cords_tune.models.given import GivenModel

    config = _given_config(tiny_experiment, True)
    with pytest.raises(ConfigError, match=r"fails in channels-last memory order \(RuntimeError: view") as error:
        check_against_data(config, images, GivenModel(ViewAfterConv))
    assert error.value.path == "training.channels_last"
    with pytest.raises(ConfigError, match="fails in channels-last memory order"):
        build_trainer(config, images, model=GivenModel(ViewAfterConv))


@pytest.mark.parametrize("setting", [True, False])
def test_cudnn_benchmark_is_set_for_a_gpu_and_left_alone_on_the_cpu(monkeypatch, setting):
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", not setting)
    speed.use_cudnn_benchmark(setting, CPU)
    assert torch.backends.cudnn.benchmark is (not setting)
    speed.use_cudnn_benchmark(setting, CUDA)
    assert torch.backends.cudnn.benchmark is setting


def test_cudnn_benchmark_must_be_a_boolean(tiny_experiment):
    with pytest.raises(ConfigError, match="cudnn_benchmark"):
        _config(tiny_experiment, cudnn_benchmark="fastest")
