"""Conformance suite run against every registered model: adding a model needs no edits here."""

from __future__ import annotations

import inspect
import typing

import pytest
import torch
from torch import nn

from cords_tune.errors import ConfigError
from cords_tune.models import MODELS, Classifier, create_model, list_models

CANDIDATE_SHAPES: list[tuple[int, ...]] = [(40,), (1, 40), (1, 8, 8), (3, 32, 32)]
NUM_CLASSES = 3
BATCH = 2


def _accepted_shape(name: str) -> tuple[int, ...]:
    """The first candidate shape ``name`` accepts."""
    for shape in CANDIDATE_SHAPES:
        try:
            create_model(name, input_shape=shape, num_classes=NUM_CLASSES)
        except ConfigError:
            continue
        return shape
    pytest.fail(f"model {name!r} accepts none of {CANDIDATE_SHAPES}")


def _int_params(name: str) -> list[str]:
    hints = typing.get_type_hints(MODELS.get(name))
    return [key for key in MODELS.user_params(name) if hints.get(key) is int]


def test_the_documented_models_are_registered() -> None:
    assert {"mlp", "cnn1d", "lenet", "resnet18"} <= set(list_models())


@pytest.mark.parametrize("name", MODELS.names())
def test_builder_signature_and_description(name: str) -> None:
    builder = MODELS.get(name)
    hints = typing.get_type_hints(builder)
    for key, param in inspect.signature(builder).parameters.items():
        assert param.kind is param.KEYWORD_ONLY, key
        assert key in hints, f"{key} has no type hint"
        if key not in MODELS.fixed:
            assert param.default is not param.empty, f"{key} has no default"
    description = MODELS.describe(name)
    assert description and description == inspect.getdoc(builder).splitlines()[0]


@pytest.mark.parametrize("name", MODELS.names())
def test_accepts_at_least_one_candidate_shape(name: str) -> None:
    assert _accepted_shape(name) in CANDIDATE_SHAPES


@pytest.mark.parametrize("shape", CANDIDATE_SHAPES, ids=str)
@pytest.mark.parametrize("name", MODELS.names())
def test_classifier_contract_or_config_error(name: str, shape: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    try:
        model = create_model(name, input_shape=shape, num_classes=NUM_CLASSES)
    except ConfigError as error:  # any other exception fails the test
        assert error.path == "model.name"
        assert str(shape) in str(error)
        return
    assert isinstance(model, Classifier)
    assert isinstance(model.head, nn.Linear) and model.head.out_features == NUM_CLASSES
    x = torch.randn(BATCH, *shape)

    model.train()
    logits = model(x)
    assert logits.shape == (BATCH, NUM_CLASSES)
    nn.functional.cross_entropy(logits, torch.tensor([0, 1])).backward()
    first = next(model.parameters())
    assert first.grad is not None and first.grad.abs().sum() > 0

    model.eval()
    with torch.no_grad():
        features = model.embed(x)
        assert features.shape == (BATCH, model.embedding_dim)
        assert model.head.in_features == model.embedding_dim
        torch.testing.assert_close(model(x), model.head(features))


@pytest.mark.parametrize("name", MODELS.names())
def test_unknown_param_is_rejected(name: str) -> None:
    with pytest.raises(ConfigError, match="no_such_param"):
        create_model(
            name, input_shape=_accepted_shape(name), num_classes=NUM_CLASSES, params={"no_such_param": 1}
        )


@pytest.mark.parametrize("name", MODELS.names())
def test_wrongly_typed_params_are_rejected_with_their_path(name: str) -> None:
    shape = _accepted_shape(name)
    for key in MODELS.user_params(name):
        with pytest.raises(ConfigError, match=key) as info:
            create_model(name, input_shape=shape, num_classes=NUM_CLASSES, params={key: "not a value"})
        assert info.value.path == f"model.params.{key}"


@pytest.mark.parametrize("name", MODELS.names())
def test_integral_floats_are_accepted_for_int_params(name: str) -> None:
    shape = _accepted_shape(name)
    for key in _int_params(name):
        default = MODELS.user_params(name)[key].default
        as_int = create_model(name, input_shape=shape, num_classes=NUM_CLASSES, params={key: default})
        as_float = create_model(name, input_shape=shape, num_classes=NUM_CLASSES, params={key: float(default)})
        assert {k: v.shape for k, v in as_int.state_dict().items()} == {
            k: v.shape for k, v in as_float.state_dict().items()
        }
        with pytest.raises(ConfigError, match=key):
            create_model(name, input_shape=shape, num_classes=NUM_CLASSES, params={key: default + 0.5})


@pytest.mark.parametrize("name", MODELS.names())
def test_same_seed_gives_same_init(name: str) -> None:
    shape = _accepted_shape(name)

    def build(seed: int) -> dict[str, torch.Tensor]:
        torch.manual_seed(seed)
        return create_model(name, input_shape=shape, num_classes=NUM_CLASSES).state_dict()

    first, again, other = build(0), build(0), build(1)
    assert all(torch.equal(first[key], again[key]) for key in first)
    assert any(not torch.equal(first[key], other[key]) for key in first)
