"""The uncertainty of a compared figure: intervals and paired tests, on numpy and scipy alone.

**Units.** Word errors are counted per *unit*: an utterance, or a block of about
``UNIT_WORDS`` consecutive reference words of a long one (``unit_count``, ``unit_of``), so that
a single 90 s clip still gives some fifteen units. Units are cut from the reference alone (by
word position), so two engines' units of one clip are the same units and can be paired; the
hypothesis is aligned to the reference (``words.word_errors``), each substitution and
deletion counts in its reference word's unit and an insertion in the unit of the reference word
before it.

**WER.** ``wer_interval``: a 95 % bootstrap interval of Σ errors / Σ reference words over the
units, resampled with replacement (Bisani and Ney, "Bootstrap estimates for confidence
intervals in ASR performance evaluation", ICASSP 2004), BCa as scipy computes it.
``paired_wer_difference``: two systems on the same units: the bootstrap interval of the
difference of their WERs, resampling the units in pairs, and a p-value: NIST's matched-pair
test (MAPSSWE's statistic, with our units as its segments) from ``MAPSSWE_MIN_UNITS`` units
on, where its normal approximation holds; below that, the exact sign-flip (paired
permutation) test of the same per-unit differences.

**Speed.** ``median_interval`` and ``rtfx_interval``: a bootstrap interval of the median
round's time (and of audio seconds over it), from ``MIN_ROUNDS`` timed rounds on: with fewer,
no interval of the median exists at 95 % without assuming a distribution (even [min, max] of 5
rounds covers it only 94 % of the time), and none is given. ``time_change``: the relative
change of the median time from a baseline (one or several runs, each with its rounds) to a
new run: a stratified bootstrap over the rounds (the noise within the sessions) and, from
``MIN_HISTORY`` baseline runs on, a prediction interval from the spread of the baseline runs
(the drift of the machine from one session to the next), whichever is wider.

A difference is *significant* when its interval excludes zero and its p is under 0.05.

Every resampling uses a fixed seed: the same data give the same interval and p every time.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

CONFIDENCE = 0.95
RESAMPLES = 4000
"""Bootstrap resamples: a few thousand keep the bounds stable to about a tenth of a point."""
SEED = 19
UNIT_WORDS = 12
"""Reference words per unit of a long utterance: about a sentence (about 5 s of read speech;
a 90 s reading of 190 words gives 15 units)."""
MIN_UNITS = 10
"""The fewest units for a WER interval or a paired test: below, the bootstrap has too little
to resample (a 10 s clip is one unit)."""
MAPSSWE_MIN_UNITS = 30
"""From this many units on, the paired test's p is MAPSSWE's (a normal approximation);
below, the exact sign-flip test's."""
PERMUTATIONS = 2**16
"""Sign flips of the paired permutation test: all of them (exact) up to 16 units, a random
65536 above."""
MIN_HISTORY = 3
"""From this many baseline runs on, a time change's interval holds their run-to-run spread."""
MIN_ROUNDS = 6
"""The fewest timed rounds for a speed interval: the median of n rounds has a 95 % interval
free of assumptions only from n = 6 on (1 - 2 x 0.5^n >= 0.95)."""

MAPSSWE = "MAPSSWE"
SIGN_FLIP = "sign-flip permutation"
ROUNDS_BOOTSTRAP = "bootstrap over rounds"
BETWEEN_SESSIONS = "rounds and run-to-run spread"


@dataclass(frozen=True)
class UnitErrors:
    """The word errors of one unit against its reference words."""

    substitutions: int
    deletions: int
    insertions: int
    reference_words: int

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    def __add__(self, other: UnitErrors) -> UnitErrors:
        return UnitErrors(
            self.substitutions + other.substitutions,
            self.deletions + other.deletions,
            self.insertions + other.insertions,
            self.reference_words + other.reference_words,
        )


class Interval(NamedTuple):
    """A 95 % interval (``low``, ``high``) in the unit of the figure it bounds."""

    low: float
    high: float

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    def scaled(self, factor: float) -> Interval:
        low, high = sorted((self.low * factor, self.high * factor))
        return Interval(low, high)


class Difference(NamedTuple):
    """B against A: ``delta`` (B - A), its 95 % interval, a two-sided p, and the test that
    gave p."""

    delta: float
    low: float
    high: float
    p: float
    method: str

    @property
    def interval(self) -> Interval:
        return Interval(self.low, self.high)

    @property
    def significant(self) -> bool:
        """The interval of the difference excludes zero, and the test agrees (p < 0.05): with
        few units that differ, a bootstrap interval can exclude zero where the exact test does
        not; such a difference is not taken as shown."""
        return self.interval.excludes_zero and self.p < 1 - CONFIDENCE


# --- units ---------------------------------------------------------------------------------------


def unit_count(reference_words: int, unit_words: int = UNIT_WORDS) -> int:
    """How many units an utterance of ``reference_words`` words is cut into: one up to
    ``2 * unit_words - 1`` words, then one per ``unit_words`` (units of 12 to 23 words)."""
    return max(1, reference_words // unit_words)


def unit_of(word_index: int, reference_words: int, unit_words: int = UNIT_WORDS) -> int:
    """The unit of the reference word at ``word_index``: the words cut into ``unit_count``
    runs of near-equal length, in order."""
    return word_index * unit_count(reference_words, unit_words) // reference_words


def total(units: Sequence[UnitErrors]) -> UnitErrors:
    out = UnitErrors(0, 0, 0, 0)
    for unit in units:
        out += unit
    return out


def wer_of(units: Sequence[UnitErrors]) -> float | None:
    """Σ errors / Σ reference words (None without reference words)."""
    summed = total(units)
    return summed.errors / summed.reference_words if summed.reference_words else None


# --- WER -----------------------------------------------------------------------------------------


def _rng() -> np.random.Generator:
    return np.random.default_rng(SEED)


def _ratio(errors: np.ndarray, words: np.ndarray, axis: int = -1) -> Any:
    return errors.sum(axis=axis) / words.sum(axis=axis)


def _difference(
    errors_a: np.ndarray, errors_b: np.ndarray, words: np.ndarray, axis: int = -1
) -> Any:
    return (errors_b.sum(axis=axis) - errors_a.sum(axis=axis)) / words.sum(axis=axis)


def _bootstrap(
    data: tuple[np.ndarray, ...],
    statistic: Callable[..., Any],
    *,
    paired: bool,
    method: str = "BCa",
) -> Any:
    """scipy's bootstrap with the fixed seed; BCa falls back to the percentile interval where
    it is undefined (a statistic that barely varies)."""
    from scipy import stats  # here: scipy.stats takes about 1 s to import, which every command paid

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = stats.bootstrap(
            data,
            statistic,
            n_resamples=RESAMPLES,
            paired=paired,
            vectorized=True,
            confidence_level=CONFIDENCE,
            method=method,
            rng=_rng(),
        )
    interval = result.confidence_interval
    if method != "percentile" and not (np.isfinite(interval.low) and np.isfinite(interval.high)):
        return _bootstrap(data, statistic, paired=paired, method="percentile")
    return result


def _arrays(units: Sequence[UnitErrors]) -> tuple[np.ndarray, np.ndarray]:
    errors = np.array([unit.errors for unit in units], dtype=float)
    words = np.array([unit.reference_words for unit in units], dtype=float)
    return errors, words


def wer_interval(units: Sequence[UnitErrors]) -> Interval | None:
    """The 95 % bootstrap interval of the WER (a fraction) over ``units``; None with fewer
    than ``MIN_UNITS`` units."""
    if len(units) < MIN_UNITS:
        return None
    errors, words = _arrays(units)
    point = float(_ratio(errors, words))
    if np.allclose(errors, point * words):  # every unit at the same rate: nothing varies
        return Interval(point, point)
    found = _bootstrap((errors, words), _ratio, paired=True).confidence_interval
    return Interval(float(found.low), float(found.high))


def paired_wer_difference(a: Sequence[UnitErrors], b: Sequence[UnitErrors]) -> Difference | None:
    """WER(B) - WER(A) (fractions) on the same units, in the same order (each pair of one
    reference); None with fewer than ``MIN_UNITS`` units. ValueError when the units do not
    pair (other lengths, other reference word counts)."""
    if [x.reference_words for x in a] != [y.reference_words for y in b]:
        raise ValueError("paired units must be the same units: same count, same reference words")
    if len(a) < MIN_UNITS:
        return None
    errors_a, words = _arrays(a)
    errors_b, _ = _arrays(b)
    delta = float(_difference(errors_a, errors_b, words))
    differences = errors_b - errors_a
    p, method = _paired_p(differences)
    if np.allclose(differences, delta * words):  # every unit at the same rate
        return Difference(delta, delta, delta, p, method)
    found = _bootstrap((errors_a, errors_b, words), _difference, paired=True).confidence_interval
    return Difference(delta, float(found.low), float(found.high), p, method)


def _paired_p(differences: np.ndarray) -> tuple[float, str]:
    """The two-sided p of "no difference" for per-unit error differences (B - A)."""
    if not differences.any():
        return 1.0, MAPSSWE if len(differences) >= MAPSSWE_MIN_UNITS else SIGN_FLIP
    if len(differences) >= MAPSSWE_MIN_UNITS:
        return mapsswe_p(differences), MAPSSWE
    from scipy import stats

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = stats.permutation_test(
            (differences,),
            lambda d, axis=-1: d.sum(axis=axis),
            permutation_type="samples",
            vectorized=True,
            n_resamples=PERMUTATIONS,
            rng=_rng(),
        )
    return float(result.pvalue), SIGN_FLIP


def mapsswe_p(differences: np.ndarray) -> float:
    """NIST's matched-pair sentence-segment word error test (Gillick and Cox 1989, as sctk
    runs it) on per-segment error differences: W = mean / (sd / sqrt(n)), two-sided p from the
    normal distribution."""
    n = len(differences)
    mean = float(np.mean(differences))
    spread = float(np.std(differences, ddof=1)) if n > 1 else 0.0
    if spread == 0.0:
        return 1.0 if mean == 0.0 else 0.0
    w = mean / (spread / math.sqrt(n))
    from scipy import stats

    return float(2 * stats.norm.sf(abs(w)))


# --- speed ---------------------------------------------------------------------------------------


def _median(sample: np.ndarray, axis: int = -1) -> Any:
    return np.median(sample, axis=axis)


def median_interval(seconds: Sequence[float]) -> Interval | None:
    """The 95 % bootstrap interval of the median of the rounds' ``seconds``; None with fewer
    than ``MIN_ROUNDS`` rounds."""
    return rtfx_interval([(1.0, seconds)], invert=False)


def rtfx_interval(
    parts: Sequence[tuple[float, Sequence[float]]], *, invert: bool = True
) -> Interval | None:
    """Speed over ``parts`` (audio seconds, the seconds of each timed round of it): the 95 %
    interval of Σ audio / Σ median round, each part's rounds resampled apart; with
    ``invert=False``, of Σ median round alone. None when a part has fewer than
    ``MIN_ROUNDS`` rounds."""
    if not parts or any(len(rounds) < MIN_ROUNDS for _, rounds in parts):
        return None
    audio = sum(audio_s for audio_s, _ in parts)
    samples = tuple(np.asarray(rounds, dtype=float) for _, rounds in parts)

    def speed(*rounds: np.ndarray, axis: int = -1) -> Any:
        seconds = sum(_median(sample, axis) for sample in rounds)
        return audio / seconds if invert else seconds

    if all(np.all(sample == sample[0]) for sample in samples):
        point = float(speed(*samples))
        return Interval(point, point)
    found = _bootstrap(samples, speed, paired=False, method="percentile").confidence_interval
    return Interval(float(found.low), float(found.high))


def time_change(
    new: Sequence[float],
    baseline: Sequence[Sequence[float]],
    *,
    statistic: str = "median",
    relative: bool = True,
) -> Difference | None:
    """The change of a time ``statistic`` (``median`` or ``mean`` of the rounds) from the
    baseline runs (each a sequence of its rounds' seconds; the baseline is the median of their
    statistics, as ``regressions`` takes it) to ``new``: relative (+0.10 is 10 % slower) or in
    seconds, with a 95 % interval and a two-sided p:

    - within the sessions: a stratified bootstrap (every run's rounds resampled apart);
    - between sessions, from ``MIN_HISTORY`` baseline runs on: the spread of the baseline
      runs' own statistics, which holds the drift of the machine from one session to the next
      (another load beside it), as a prediction interval (Student's t, k - 1 degrees of
      freedom) for one more run of the same code.

    The interval is the wider of the two, p the larger; a run of fewer than ``MIN_ROUNDS``
    rounds (a corpus timed once: one round) has only the second. None when neither applies,
    or for another statistic."""
    runs = [new, *baseline]
    if statistic not in ("median", "mean") or not baseline or not all(runs):
        return None
    reduce = np.median if statistic == "median" else np.mean
    samples = tuple(np.asarray(rounds, dtype=float) for rounds in runs)

    def change(*rounds: np.ndarray, axis: int = -1) -> Any:
        now = reduce(rounds[0], axis=axis)
        base = np.median(np.stack([reduce(r, axis=axis) for r in rounds[1:]]), axis=0)
        return now / base - 1.0 if relative else now - base

    point = float(change(*samples))
    enough = all(len(rounds) >= MIN_ROUNDS for rounds in runs)
    within = _within_sessions(samples, change, point) if enough else None
    between = _between_sessions(point, [float(reduce(s)) for s in samples[1:]], relative)
    if within is None or between is None:
        return within or between
    low, high = min(within.low, between.low), max(within.high, between.high)
    return Difference(point, low, high, max(within.p, between.p), BETWEEN_SESSIONS)


def _within_sessions(
    samples: tuple[np.ndarray, ...], change: Callable[..., Any], point: float
) -> Difference:
    if all(np.all(sample == sample[0]) for sample in samples):
        return Difference(point, point, point, 1.0 if point == 0 else 0.0, ROUNDS_BOOTSTRAP)
    result = _bootstrap(samples, change, paired=False, method="percentile")
    found = result.confidence_interval
    spread = np.asarray(result.bootstrap_distribution)
    p = min(1.0, 2 * min(float(np.mean(spread <= 0)), float(np.mean(spread >= 0))))
    return Difference(point, float(found.low), float(found.high), p, ROUNDS_BOOTSTRAP)


def _between_sessions(point: float, history: list[float], relative: bool) -> Difference | None:
    """The prediction interval of one more session's statistic against the history's median,
    from the history's spread (relative changes on the log scale), measured robustly (the
    median absolute deviation, scaled to a standard deviation: one odd run in the window does
    not widen it); None below ``MIN_HISTORY`` runs, or when the history shows no spread."""
    if len(history) < MIN_HISTORY:
        return None
    from scipy import stats

    values = np.log(history) if relative else np.asarray(history)
    scale = float(stats.median_abs_deviation(values, scale="normal"))
    spread = scale * math.sqrt(1 + 1 / len(history))
    if spread == 0.0:
        return None
    centre = math.log1p(point) if relative else point
    degrees = len(history) - 1
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, degrees)) * spread
    p = float(2 * stats.t.sf(abs(centre) / spread, degrees))
    low, high = centre - half, centre + half
    if relative:
        low, high = math.expm1(low), math.expm1(high)
    return Difference(point, low, high, p, BETWEEN_SESSIONS)


# --- per-word samples (emission delays) ----------------------------------------------------------

MIN_WORDS = 10
"""The fewest per-word values (emission delays of one stream) for an interval of their mean or
a quantile, or for a change between two streams."""
WORDS_BOOTSTRAP = "bootstrap over words"
SAMPLE_STATISTICS: dict[str, Callable[..., Any]] = {
    "mean": lambda sample, axis=-1: np.mean(sample, axis=axis),
    "p50": lambda sample, axis=-1: np.quantile(sample, 0.5, axis=axis),
    "p90": lambda sample, axis=-1: np.quantile(sample, 0.9, axis=axis),
}
"""The statistics of a per-word sample that ``sample_interval`` and ``sample_change`` take."""


def sample_interval(values: Sequence[float], statistic: str) -> Interval | None:
    """The 95 % percentile-bootstrap interval of ``statistic`` (``SAMPLE_STATISTICS``) of
    per-word ``values``, the words resampled with replacement; None with fewer than
    ``MIN_WORDS`` values."""
    if len(values) < MIN_WORDS:
        return None
    reduce = SAMPLE_STATISTICS[statistic]
    sample = np.asarray(values, dtype=float)
    if np.all(sample == sample[0]):
        return Interval(float(sample[0]), float(sample[0]))
    found = _bootstrap((sample,), reduce, paired=False, method="percentile").confidence_interval
    return Interval(float(found.low), float(found.high))


def sample_change(
    new: Sequence[float], baseline: Sequence[float], statistic: str
) -> Difference | None:
    """The relative change of ``statistic`` of per-word values from ``baseline`` to ``new``
    (+0.10: 10 % more), two independent samples each resampled apart, with its 95 % interval
    and a two-sided p from the bootstrap distribution; None when either has fewer than
    ``MIN_WORDS`` values or the baseline's statistic is not positive."""
    if len(new) < MIN_WORDS or len(baseline) < MIN_WORDS:
        return None
    reduce = SAMPLE_STATISTICS[statistic]
    samples = (np.asarray(new, dtype=float), np.asarray(baseline, dtype=float))
    if float(reduce(samples[1])) <= 0:
        return None

    def change(now: np.ndarray, base: np.ndarray, axis: int = -1) -> Any:
        return reduce(now, axis=axis) / reduce(base, axis=axis) - 1.0

    point = float(change(*samples))
    if all(np.all(sample == sample[0]) for sample in samples):
        return Difference(point, point, point, 1.0 if point == 0 else 0.0, WORDS_BOOTSTRAP)
    result = _bootstrap(samples, change, paired=False, method="percentile")
    found = result.confidence_interval
    spread = np.asarray(result.bootstrap_distribution)
    p = min(1.0, 2 * min(float(np.mean(spread <= 0)), float(np.mean(spread >= 0))))
    return Difference(point, float(found.low), float(found.high), p, WORDS_BOOTSTRAP)
