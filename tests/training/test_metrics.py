"""The metrics a search can tune for: the torch kernels against scikit-learn on small random problems with
ties, what a class missing from the split does, and the trainer measuring the search metric where it
evaluates (reported with each epoch, kept by checkpoints)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from sklearn.metrics import balanced_accuracy_score, f1_score, roc_auc_score

from cords_tune.config import parse_config
from cords_tune.datasets import load_dataset
from cords_tune.metrics import KERNELS, balanced_accuracy, compute, f1_macro, roc_auc
from cords_tune.results.metrics import METRICS, search_metric
from cords_tune.training import build_trainer


def _problem(seed: int, n: int, classes: int, levels: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Labels, predictions and probability rows whose scores take ``levels`` values only: many ties."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    weights = rng.integers(1, levels + 1, (n, classes)).astype(np.float64)
    proba = weights / weights.sum(1, keepdims=True)
    predicted = np.where(rng.random(n) < 0.6, labels, rng.integers(0, classes, n))
    return torch.as_tensor(labels), torch.as_tensor(predicted), torch.as_tensor(proba)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("classes", [2, 3, 5])
def test_the_kernels_agree_with_scikit_learn(seed, classes):
    labels, predicted, proba = _problem(seed, n=int(20 + 7 * seed), classes=classes, levels=3)
    if len(labels.unique()) < classes:
        pytest.skip("a class is missing: tested below")
    y, p = labels.numpy(), predicted.numpy()
    assert balanced_accuracy(predicted, labels, classes) == pytest.approx(balanced_accuracy_score(y, p), abs=1e-12)
    assert f1_macro(predicted, labels, classes) == pytest.approx(f1_score(y, p, average="macro"), abs=1e-12)
    expected = (roc_auc_score(y, proba[:, 1].numpy()) if classes == 2
                else roc_auc_score(y, proba.numpy(), multi_class="ovr", average="macro"))
    assert roc_auc(proba, labels) == pytest.approx(expected, abs=1e-12)


def test_tied_scores_take_their_average_rank():
    labels = torch.tensor([0, 1, 0, 1])
    scores = torch.tensor([[0.5, 0.5], [0.5, 0.5], [0.9, 0.1], [0.1, 0.9]])
    # positives score 0.5 and 0.9, negatives 0.5 and 0.1: pairs won 1 + 1 + 1 + a tie (0.5)
    assert roc_auc(scores, labels) == 3.5 / 4 == roc_auc_score(labels.numpy(), scores[:, 1].numpy())


@pytest.mark.parametrize("seed", range(6))
def test_a_class_missing_from_the_split_is_left_out_where_scikit_learn_raises_or_warns(seed):
    labels, predicted, proba = _problem(seed, n=40, classes=4, levels=3)
    labels = torch.where(labels == 2, 0, labels)  # class 2 has no sample; it is still predicted sometimes
    y, p = labels.numpy(), predicted.numpy()
    with pytest.raises(ValueError):
        roc_auc_score(y, proba.numpy(), multi_class="ovr")
    present = [c for c in range(4) if c != 2]
    assert roc_auc(proba, labels) == pytest.approx(
        np.mean([roc_auc_score(y == c, proba[:, c].numpy()) for c in present]), abs=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn's "y_pred contains classes not in y_true"
        assert balanced_accuracy(predicted, labels, 4) == pytest.approx(balanced_accuracy_score(y, p), abs=1e-12)
        assert f1_macro(predicted, labels, 4) == pytest.approx(f1_score(y, p, average="macro"), abs=1e-12)


def test_with_one_class_in_the_split_roc_auc_is_nan_and_the_others_are_defined():
    labels = torch.zeros(5, dtype=torch.int64)
    scores = torch.tensor([[0.2, 0.8], [0.6, 0.4], [0.5, 0.5], [0.9, 0.1], [0.3, 0.7]])
    assert math.isnan(roc_auc(scores, labels))
    assert math.isnan(roc_auc(torch.full((5, 2), float("nan")), torch.tensor([0, 1, 0, 1, 1])))
    assert balanced_accuracy(scores.argmax(1), labels, 2) == 0.6  # 3 of the 5 predicted 0 (a tie goes to 0)
    assert f1_macro(scores.argmax(1), labels, 2) == pytest.approx(f1_score(labels, scores.argmax(1), average="macro"))


def test_each_metric_is_declared_once_with_its_mode():
    assert {key: m.mode for key, m in METRICS.items()} == {
        "val_accuracy": "max", "val_loss": "min", "val_balanced_accuracy": "max", "val_f1_macro": "max",
        "val_roc_auc": "max"}
    assert search_metric("val_roc_auc").test_key == "test_roc_auc"
    with pytest.raises(ValueError, match="Did you mean 'val_f1_macro'"):
        search_metric("val_f1")


def test_every_metric_declared_from_logits_has_a_kernel_and_every_kernel_a_declaration():
    declared = {m.name for m in METRICS.values() if m.from_logits}
    assert declared == set(KERNELS), (f"declared from logits without a kernel: {declared - set(KERNELS)}; "
                                      f"kernels without a declaration: {set(KERNELS) - declared}")
    logits, labels = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 0.5]]), torch.tensor([0, 1, 1])
    for metric in METRICS.values():
        if metric.from_logits:
            assert 0.0 <= compute(metric, logits, labels) <= 1.0


def _binary_config(tiny_experiment, metric, **training):
    tiny_experiment["dataset"]["params"]["num_classes"] = 2
    tiny_experiment["search"] = {"metric": metric}
    tiny_experiment["training"].update(training)
    return parse_config(tiny_experiment)


def _data(config):
    return load_dataset(config.dataset.name, data_dir=config.dataset.data_dir, params=config.dataset.params,
                        seed=config.seed)


@pytest.mark.parametrize("metric", ["val_roc_auc", "val_f1_macro", "val_balanced_accuracy"])
def test_the_trainer_measures_the_search_metric_on_the_validation_split_each_evaluation(tiny_experiment, metric):
    config = _binary_config(tiny_experiment, metric)
    data = _data(config)
    trainer = build_trainer(config, data)
    history = trainer.fit()
    assert all(metric in stats.as_dict() for stats in history)  # what Tune reads, every epoch

    with torch.no_grad():
        trainer.model.eval()
        logits = trainer.model(trainer.val.batch(torch.arange(len(trainer.val)))[0]).float()
    y, proba = data.y_val, logits.softmax(1).numpy()
    expected = {"val_roc_auc": lambda: roc_auc_score(y, proba[:, 1]),
                "val_f1_macro": lambda: f1_score(y, proba.argmax(1), average="macro"),
                "val_balanced_accuracy": lambda: balanced_accuracy_score(y, proba.argmax(1))}[metric]()
    assert history[-1].as_dict()[metric] == pytest.approx(expected, abs=1e-9)
    assert trainer.evaluate_test().keyed("test") == {metric.replace("val_", "test_"): pytest.approx(
        trainer.evaluate_test().scores[metric.removeprefix("val_")])}


def test_accuracy_and_loss_keep_no_logits_and_report_nothing_more(tiny_experiment):
    config = _binary_config(tiny_experiment, "val_loss", epochs=1)
    (stats,) = build_trainer(config, _data(config)).fit()
    assert stats.val_scores == {} and "val_roc_auc" not in stats.as_dict()


def test_between_decisions_the_last_measurement_repeats_and_survives_a_checkpoint(tiny_experiment, tmp_path):
    config = _binary_config(tiny_experiment, "val_roc_auc", epochs=4, validation="at_decisions")
    data = _data(config)
    trainer = build_trainer(config, data, decision_epochs=(2,))
    trainer.run_epoch()
    second = trainer.run_epoch()
    torch.save(trainer.state_dict(), tmp_path / "trainer.pt")
    third = trainer.run_epoch()
    assert second.evaluated and not third.evaluated and third.val_scores == second.val_scores
    assert set(second.val_scores) == {"val_roc_auc"}

    restored = build_trainer(config, data, decision_epochs=(2,))
    restored.load_state_dict(torch.load(tmp_path / "trainer.pt", weights_only=True))
    again = restored.run_epoch()
    assert not again.evaluated and again.val_scores == second.val_scores
