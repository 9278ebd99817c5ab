"""The verdict line (``verdict``): the fastest engine at equal accuracy, the engines
significantly less accurate, compared only on what every engine ran, and a plain "cannot tell"
with a 10 s clip. Records built here carry errors per unit and round times as the suite saves
them (the fast tier; ``test_real_speech.py`` runs real engines)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from whisperbench.results import CorpusResult, Params, Result, Timing, TranscribeResult
from whisperbench.scoring.evidence import UnitErrors
from whisperbench.verdict import interval_notes, verdicts


@dataclass(frozen=True)
class Case:
    result: Result
    timing: Timing | None


def units(count: int, wrong: int, seed: int, extra_every: int = 0) -> tuple[UnitErrors, ...]:
    """``count`` units of 15 words with ``wrong`` errors each, give or take one; one more
    deletion in every ``extra_every``-th unit."""
    rng = np.random.default_rng(seed)
    return tuple(
        UnitErrors(
            max(0, wrong + int(rng.integers(-1, 2))),
            int(bool(extra_every) and i % extra_every == 0),
            0,
            15,
        )
        for i in range(count)
    )


def corpus(engine: str, median_s: float, unit_errors: tuple[UnitErrors, ...]) -> Case:
    rounds = tuple(median_s * (1 + 0.01 * k) for k in (-2, -1, 0, 0, 1, 2))
    result = CorpusResult(
        implementation=engine,
        model="tiny.en",
        dataset="realspeech",
        audio_s=600.0,
        rtfx=600.0 / median_s,
        wer=sum(u.errors for u in unit_errors) / (15 * len(unit_errors)),
        unit_errors={f"utt{i:03d}": (u,) for i, u in enumerate(unit_errors)},
        round_s=rounds,
        params=Params(device="cpu"),
    )
    return Case(result, Timing.of_rounds(rounds))


def clip(engine: str, name: str, median_s: float, wrong: int) -> Case:
    result = TranscribeResult(
        implementation=engine,
        model="tiny.en",
        clip=name,
        audio_s=10.0,
        rtfx=10.0 / median_s,
        wer=wrong / 25,
        unit_errors={name: (UnitErrors(wrong, 0, 0, 25),)},
        round_s=(median_s,) * 3,
        params=Params(device="cpu"),
    )
    return Case(result, Timing.of_rounds([median_s] * 3))


def test_the_fastest_at_equal_accuracy_and_the_significantly_less_accurate() -> None:
    base = units(200, 1, seed=1)
    cases = [
        corpus("transformers-reference", 60.0, base),  # most accurate, slowest
        corpus("faster-whisper", 20.0, units(200, 1, seed=1, extra_every=7)),  # +1 word in 7 units
        corpus("transformers", 30.0, base),
        corpus("insanely-fast-whisper", 10.0, units(200, 1, seed=1, extra_every=2)),  # fastest
    ]
    (verdict,) = verdicts(cases)
    assert (verdict.device, verdict.model, verdict.subjects) == ("cpu", "tiny.en", ("realspeech",))
    assert verdict.units == 200 and verdict.words == 3000
    assert verdict.fastest is not None
    assert verdict.fastest.implementation == "transformers"  # faster than the reference, as good
    worse = {e.implementation: e.against_best for e in verdict.worse}
    assert set(worse) == {"faster-whisper", "insanely-fast-whisper"}
    line = verdict.line()
    assert line.startswith("cpu, tiny.en: fastest at equal accuracy: transformers (RTFx 20.0 [")
    assert "], WER " in line and "; significantly less accurate: " in line
    assert "insanely-fast-whisper (+3.3 pts [+" in line  # 100 more deletions over 3000 words


def test_engines_that_cannot_be_told_apart_are_said_to_be_so() -> None:
    base = units(40, 1, seed=2)
    cases = [corpus("a", 20.0, base), corpus("b", 10.0, units(40, 1, seed=2, extra_every=20))]
    (verdict,) = verdicts(cases)
    assert verdict.worse == ()
    line = verdict.line()
    assert line.startswith("cpu, tiny.en: fastest at equal accuracy: b (RTFx 60.0 [")
    assert line.endswith(
        "; no engine is significantly less accurate than a on 40 units (600 words): "
        "more audio would tell (--clips real, or --dataset PATH)"
    )


def test_a_10_s_clip_cannot_rank_engines() -> None:
    cases = [clip("a", "short", 1.0, wrong=1), clip("b", "short", 0.5, wrong=4)]
    (verdict,) = verdicts(cases)
    assert verdict.units == 1
    assert verdict.line() == (
        "cpu, tiny.en: fastest: b (RTFx 20.0, 3 round(s): no interval, WER 16.0%); accuracy "
        "cannot be compared on 1 unit (25 words), fewer than 10 units: more audio would tell "
        "(--clips real, or --dataset PATH)"
    )
    notes = interval_notes(cases)
    assert notes == [
        "no interval for WER: 1 unit(s) of speech, fewer than 10 (a tiny.en short, "
        "b tiny.en short): a clip or corpus of 10 units (about 2 min of speech) or more",
        "no interval for RTFx: 3 round(s), fewer than 6 (a tiny.en short, b tiny.en short): "
        "--rounds 6 or more gives one",
    ]


def test_engines_are_compared_only_on_what_they_all_ran() -> None:
    base = units(30, 1, seed=3)
    cases = [
        corpus("a", 20.0, base),
        clip("a", "short", 1.0, wrong=0),
        corpus("b", 20.0, base),
        Case(
            CorpusResult(
                implementation="a",
                model="base",
                dataset="realspeech",
                params=Params(device="cuda"),
            ),
            None,
        ),
    ]
    by_group = {(v.device, v.model): v for v in verdicts(cases)}
    verdict = by_group["cpu", "tiny.en"]
    assert verdict.subjects == ("realspeech",) and verdict.units == 30
    assert by_group["cuda", "base"].line() == "cuda, base: no engine has a speed to compare"


REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # a whole session on the real clips
def test_a_session_on_the_real_clips_ends_with_the_verdict(pytester: pytest.Pytester) -> None:
    """``--clips short,real``: the 10 s clip and the real clip set as a corpus case; the last
    lines are the verdict, after pytest-benchmark's tables (the fake engine: no model)."""
    for name in ("test_load.py", "test_transcribe.py", "test_corpus.py"):
        pytester.makepyfile(**{name[:-3]: (REPO / "benchmarks" / name).read_text()})
    result = pytester.runpytest_inprocess(
        "-p",
        "whisperbench.suite.plugin",
        "--implementations=fake",
        "--clips=short,real",
        "--rounds=1",
        "--device=cpu",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(passed=3)
    lines = [line for line in result.outlines if line.strip()]
    assert "test_corpus[fake-tiny.en-realspeech]" in result.stdout.str()
    assert any("benchmark 'corpus-realspeech'" in line for line in lines)
    row = next(line for line in lines if line.startswith("│ fake-tiny.en-realspeech "))
    assert re.search(r"│ +\d+\.\d \[\d+\.\d, \d+\.\d\] │", row), row  # WER and its interval
    verdict = lines.index(next(line for line in lines if line.startswith("whisperbench verdict:")))
    assert lines[verdict].startswith("whisperbench verdict: cpu, tiny.en: only fake (RTFx ")
    assert verdict == len(lines) - 2  # then pytest's "3 passed in ..."
    assert not any("benchmark '" in line for line in lines[verdict:])
