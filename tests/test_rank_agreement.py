"""Rank agreement between a cheap and an expensive scoring of the same configurations."""

from __future__ import annotations

import itertools

import pytest
from scipy.stats import kendalltau, spearmanr

from cords_tune.rank_agreement import rank_agreement


def test_identical_rankings_agree_completely():
    scores = [0.2, 0.9, 0.5, 0.7]
    result = rank_agreement([s - 0.1 for s in scores], scores)
    assert result["spearman"] == pytest.approx(1.0) and result["kendall"] == pytest.approx(1.0)
    assert result["top1_agree"] and result["top3_agree"] and result["top3_overlap"] == 3
    assert result["top1_regret"] == 0.0


def test_reversed_ranking_disagrees_and_the_regret_is_what_the_cheap_pick_loses():
    expensive = [0.9, 0.8, 0.7, 0.6, 0.5]
    result = rank_agreement(list(reversed(expensive)), expensive)
    assert result["spearman"] == pytest.approx(-1.0) and result["kendall"] == pytest.approx(-1.0)
    assert not result["top1_agree"] and not result["top3_agree"]
    assert result["top3_overlap"] == 1  # the middle one
    assert result["top1_regret"] == pytest.approx(0.9 - 0.5)


def test_settling_the_cheap_top_k_on_the_expensive_score_recovers_what_the_top_1_loses():
    expensive = [0.70, 0.90, 0.80, 0.60]
    cheap = [0.95, 0.85, 0.90, 0.10]  # cheap order: 0, 2, 1, 3
    result = rank_agreement(cheap, expensive)
    assert result["top1_regret"] == pytest.approx(0.20)  # configuration 0 instead of 1
    assert result["top2_regret"] == pytest.approx(0.10)  # 0 and 2 settled: 2 wins
    assert result["top3_regret"] == 0.0  # 1 is among them
    losses = [0.3, 0.1, 0.2]
    in_min = rank_agreement([0.1, 0.9, 0.2], losses, mode="min")  # cheap order: 0, 2, 1
    assert (in_min["top1_regret"], in_min["top2_regret"], in_min["top3_regret"]) == pytest.approx((0.2, 0.1, 0.0))


def test_lower_is_better_in_min_mode():
    losses = [0.3, 0.1, 0.2]
    result = rank_agreement([0.31, 0.12, 0.25], losses, mode="min")
    assert result["top1_agree"] and result["top1_regret"] == 0.0
    picked_worst = rank_agreement([0.5, 0.9, 0.1], losses, mode="min")  # cheap picks index 2 (0.2), best is 1 (0.1)
    assert not picked_worst["top1_agree"] and picked_worst["top1_regret"] == pytest.approx(0.1)


@pytest.mark.parametrize("mode", ["max", "min"])
def test_a_pick_tied_for_the_best_on_the_expensive_score_agrees(mode):
    expensive = [0.9, 0.9, 0.5] if mode == "max" else [0.1, 0.1, 0.5]
    cheap = [0.3, 0.5, 0.1] if mode == "max" else [0.5, 0.3, 0.9]  # picks configuration 1, tied with 0
    result = rank_agreement(cheap, expensive, mode=mode)
    assert result["top1_agree"] and result["top1_tied"] and result["top1_regret"] == 0.0
    alone = rank_agreement(cheap, [0.9, 0.95, 0.5] if mode == "max" else [0.1, 0.05, 0.5], mode=mode)
    assert alone["top1_agree"] and not alone["top1_tied"]


def test_correlations_match_scipy_with_ties():
    cheap = [0.5, 0.5, 0.7, 0.1, 0.7, 0.3]
    expensive = [0.6, 0.4, 0.8, 0.2, 0.9, 0.1]
    result = rank_agreement(cheap, expensive)
    assert result["spearman"] == pytest.approx(spearmanr(cheap, expensive).statistic)
    assert result["kendall"] == pytest.approx(kendalltau(cheap, expensive).statistic)


def test_top3_overlap_counts_shared_members_for_every_permutation():
    expensive = [0.1, 0.2, 0.3, 0.4, 0.5]
    for order in itertools.permutations(range(5)):
        cheap = [float(o) for o in order]
        top_cheap = set(sorted(range(5), key=lambda i: -cheap[i])[:3])
        assert rank_agreement(cheap, expensive)["top3_overlap"] == len(top_cheap & {2, 3, 4})


def test_a_constant_scoring_has_no_correlation_rather_than_a_made_up_one():
    result = rank_agreement([0.5, 0.5, 0.5], [0.1, 0.3, 0.2])
    assert result["spearman"] is None and result["kendall"] is None


@pytest.mark.parametrize(("cheap", "expensive", "message"), [([0.1], [0.2], "at least 2"), ([0.1, 0.2], [0.3], "same")])
def test_bad_input_is_refused(cheap, expensive, message):
    with pytest.raises(ValueError, match=message):
        rank_agreement(cheap, expensive)
