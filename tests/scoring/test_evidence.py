"""The statistics of ``evidence``: units cut from the reference alone, the bootstrap interval of
a WER (and that it covers the true WER about 95 % of the time), the paired test of two systems
on the same units, and speed intervals from timed rounds. Pure numbers: the fast tier."""

from __future__ import annotations

import numpy as np
import pytest

from whisperbench.scoring import evidence, word_errors
from whisperbench.scoring.evidence import (
    MAPSSWE,
    MIN_ROUNDS,
    MIN_UNITS,
    SIGN_FLIP,
    UnitErrors,
    mapsswe_p,
    median_interval,
    paired_wer_difference,
    rtfx_interval,
    time_change,
    total,
    unit_count,
    unit_of,
    wer_interval,
    wer_of,
)


def simulated(count: int, rate: float, seed: int) -> list[UnitErrors]:
    """Units of 10 to 30 words, each word wrong with probability ``rate``."""
    rng = np.random.default_rng(seed)
    units = []
    for _ in range(count):
        words = int(rng.integers(10, 31))
        wrong = int(rng.binomial(words, rate))
        substitutions = int(rng.integers(0, wrong + 1))
        units.append(UnitErrors(substitutions, wrong - substitutions, 0, words))
    return units


def with_deletions(units: list[UnitErrors], every: int) -> list[UnitErrors]:
    """``units`` with one more deletion in every ``every``-th unit."""
    return [
        UnitErrors(u.substitutions, u.deletions + (i % every == 0), u.insertions, u.reference_words)
        for i, u in enumerate(units)
    ]


def test_units_are_cut_from_the_reference_word_count_alone() -> None:
    assert [unit_count(n) for n in (1, 11, 23, 24, 190)] == [1, 1, 1, 2, 15]
    assert [unit_of(i, 24) for i in (0, 11, 12, 23)] == [0, 0, 1, 1]
    sizes = np.bincount([unit_of(i, 190) for i in range(190)])
    assert len(sizes) == 15 and set(sizes) <= {12, 13}  # contiguous, near-equal runs


def test_word_errors_per_unit_sum_to_the_totals_and_pair_across_hypotheses() -> None:
    reference = " ".join(c + v + "t" for c in "bcdfghjklmnp" for v in "aeiou")  # 60 words
    words = reference.split()
    hypothesis = "hello there " + " ".join(words[:20] + words[25:59] + ["extra", "words"])
    errors = word_errors(reference, hypothesis)
    assert len(errors.units) == 5
    summed = total(errors.units)
    assert (summed.substitutions, summed.deletions, summed.insertions) == (
        errors.substitutions,
        errors.deletions,
        errors.insertions,
    )
    assert summed.reference_words == errors.reference_words == 60
    assert errors.units[0].insertions == 2  # before the first reference word: the first unit
    # words 20-24 left out: four in the second unit (words 12-23), one in the third
    assert [u.deletions for u in errors.units[1:3]] == [4, 1]
    assert errors.units[-1].errors == 2  # the last word and two extra: one substituted, one more
    other = word_errors(reference, reference)
    assert [u.reference_words for u in other.units] == [u.reference_words for u in errors.units]


def test_a_wer_interval_holds_its_point_is_reproducible_and_needs_enough_units() -> None:
    units = simulated(80, 0.1, seed=1)
    found = wer_interval(units)
    assert found is not None
    assert found.low < (wer_of(units) or 0.0) < found.high
    assert wer_interval(units) == found  # a fixed seed
    assert wer_interval(units[: MIN_UNITS - 1]) is None
    fewer = wer_interval(units[:20])
    assert fewer is not None and fewer.high - fewer.low > found.high - found.low
    perfect = [UnitErrors(0, 0, 0, 12)] * 20
    assert wer_interval(perfect) == (0.0, 0.0)


def test_the_wer_interval_covers_the_true_wer_about_95_percent_of_the_time() -> None:
    """Bisani and Ney's bootstrap, checked by simulation: 60 test sets of 60 units each."""
    true_rate = 0.12
    covered = 0
    for seed in range(60):
        found = wer_interval(simulated(60, true_rate, seed))
        assert found is not None
        covered += found.low <= true_rate <= found.high
    assert covered >= 52  # 95 % expected; 52 of 60 leaves room for chance


def test_the_same_units_twice_differ_by_nothing() -> None:
    units = simulated(40, 0.1, seed=2)
    found = paired_wer_difference(units, units)
    assert found == (0.0, 0.0, 0.0, 1.0, MAPSSWE)
    assert not found.significant


def test_a_paired_difference_is_found_where_unpaired_intervals_overlap() -> None:
    a = simulated(120, 0.1, seed=3)
    b = with_deletions(a, every=3)  # 40 more errors over some 2400 words: +1.7 points
    found = paired_wer_difference(a, b)
    assert found is not None
    assert found.delta == pytest.approx((wer_of(b) or 0.0) - (wer_of(a) or 0.0))
    assert found.significant and found.low > 0 and found.p < 0.001
    assert found.method == MAPSSWE
    interval_a, interval_b = wer_interval(a), wer_interval(b)
    assert interval_a is not None and interval_b is not None
    assert interval_b.low < interval_a.high  # alone, the two intervals overlap
    reverse = paired_wer_difference(b, a)
    assert reverse is not None and reverse.delta == pytest.approx(-found.delta)


def test_few_units_take_the_exact_sign_flip_test() -> None:
    a = simulated(12, 0.1, seed=4)
    found = paired_wer_difference(a, with_deletions(a, every=1))  # one more error in each unit
    assert found is not None and found.method == SIGN_FLIP
    assert found.p == pytest.approx(2 / 2**12)  # only all-positive (or all-negative) flips tie
    one_unit = paired_wer_difference(a[:1] * 1, a[:1])
    assert one_unit is None


def test_units_of_other_references_do_not_pair() -> None:
    a = simulated(20, 0.1, seed=5)
    with pytest.raises(ValueError, match="same units"):
        paired_wer_difference(a, a[:-1])
    with pytest.raises(ValueError, match="same units"):
        paired_wer_difference(a, [UnitErrors(0, 0, 0, u.reference_words + 1) for u in a])


def test_mapsswe_is_the_matched_pairs_z_test() -> None:
    differences = np.array([1, 0, 2, -1, 1, 1, 0, 3, 1, 0] * 4, dtype=float)
    w = differences.mean() / (differences.std(ddof=1) / np.sqrt(len(differences)))
    from scipy.stats import norm

    assert mapsswe_p(differences) == pytest.approx(2 * norm.sf(w))
    assert mapsswe_p(np.zeros(40)) == 1.0
    assert mapsswe_p(np.ones(40)) == 0.0


def test_speed_needs_six_rounds_for_an_interval() -> None:
    rounds = [1.0, 1.04, 0.98, 1.01, 0.97, 1.02]
    assert MIN_ROUNDS == 6
    assert median_interval(rounds[:5]) is None
    found = median_interval(rounds)
    assert found is not None and found.low <= float(np.median(rounds)) <= found.high
    speed = rtfx_interval([(10.0, rounds)])
    assert speed is not None and speed.low <= 10.0 / float(np.median(rounds)) <= speed.high
    assert rtfx_interval([(10.0, rounds), (5.0, rounds[:3])]) is None
    assert rtfx_interval([(10.0, [2.0] * 6)]) == (5.0, 5.0)


def test_a_time_change_beyond_the_noise_of_the_rounds_is_significant() -> None:
    rng = np.random.default_rng(6)
    history = [list(1.0 + 0.01 * rng.standard_normal(6)) for _ in range(5)]
    same = list(1.0 + 0.01 * rng.standard_normal(6))
    slower = [1.1 * x for x in same]
    unchanged = time_change(same, history)
    assert unchanged is not None and not unchanged.significant
    found = time_change(slower, history)
    assert found is not None and found.significant and found.p < 0.01
    assert found.low < found.delta < found.high and found.delta == pytest.approx(0.1, abs=0.03)
    seconds = time_change(slower, history, relative=False, statistic="mean")
    assert seconds is not None and seconds.delta == pytest.approx(0.1, abs=0.03)
    three = time_change(slower[:3], history)  # too few rounds: the run-to-run spread alone
    assert three is not None and three.method == evidence.BETWEEN_SESSIONS
    assert time_change(slower[:3], history[:2]) is None  # and too few runs for a spread
    assert time_change(slower, history, statistic="max") is None
    assert found.method == evidence.BETWEEN_SESSIONS
    alone = time_change(slower, history[:1])  # one earlier session: its rounds alone
    assert alone is not None and alone.method == evidence.ROUNDS_BOOTSTRAP and alone.significant


def test_a_drift_the_history_shows_between_sessions_is_not_a_change() -> None:
    """Sessions of the same code on a shared machine: tight rounds, but medians 4 % apart."""
    rng = np.random.default_rng(7)
    levels = (1.0, 1.04, 0.97, 1.02, 0.99)
    history = [list(level * (1.0 + 0.005 * rng.standard_normal(6))) for level in levels]
    drifted = list(1.06 * (1.0 + 0.005 * rng.standard_normal(6)))
    rounds_only = time_change(drifted, history[:2])
    assert rounds_only is not None and rounds_only.significant  # the rounds alone: "slower"
    found = time_change(drifted, history)
    assert found is not None and found.delta == pytest.approx(0.06, abs=0.01)
    assert not found.significant and found.low < 0 < found.high
    slower = time_change([1.1 * x for x in history[0]], history)
    assert slower is not None and slower.significant
