"""Batching across utterances on real tiny.en (CPU): each engine's ``transcribe_batch`` gives,
for every utterance, the text its ``transcribe`` gives alone, in order, while decoding several
utterances together; a clip longer than one window among them keeps its windows; progress is
told in utterances."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from whisperbench import scoring
from whisperbench.audio import SAMPLE_RATE, fixture_clip_path, load_audio
from whisperbench.datasets import FIXTURE_CORPUS_DIR, Corpus, parse_dataset, read_corpus
from whisperbench.implementations import ImplementationOptions, WhisperImplementation, create
from whisperbench.implementations.transformers_pipeline import TransformersPipeline
from whisperbench.suite.pool import load_model

pytestmark = pytest.mark.slow

ENGINES = (
    "transformers",
    "faster-whisper",
    # the recipe's batching is the transformers pipeline's list input (38 s here): nightly; CI
    # runs the recipe batched over the real readings and espeak clips (tests/test_long_form.py)
    pytest.param("transformers-reference", marks=pytest.mark.heavy),
)


LONG_S = 36
"""The first seconds of the medium clip: two windows."""


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return read_corpus(parse_dataset(str(FIXTURE_CORPUS_DIR), limit=3))


@pytest.fixture(scope="module")
def audios(corpus: Corpus) -> list[np.ndarray]:
    """Three short utterances with 36 s of the medium clip (two windows) among them."""
    short = [u.samples for u in corpus.utterances]
    long = load_audio(fixture_clip_path("medium"))[: LONG_S * SAMPLE_RATE]
    return [short[0], long, *short[1:]]


@pytest.fixture(scope="module", params=ENGINES)
def engine(
    request: pytest.FixtureRequest, offline_hub_cache: Path
) -> Iterator[WhisperImplementation]:
    impl = create(request.param, ImplementationOptions(device="cpu", batch_size=4))
    load_model(impl, "tiny.en", cache_dir=offline_hub_cache)
    yield impl
    impl.cleanup()


def test_a_batch_gives_each_utterance_its_own_text(
    engine: WhisperImplementation, audios: list[np.ndarray], corpus: Corpus
) -> None:
    told: list[tuple[int, int, str]] = []
    engine.progress = lambda done, total, unit: told.append((done, total, unit))
    together = engine.transcribe_batch(audios)
    engine.progress = None
    alone = [engine.transcribe(audio) for audio in audios]
    if engine.name == "faster-whisper":
        # CTranslate2's int8 kernels round a little differently when the batch holds other
        # windows (the long clip's first window is decoded with three others here, with one
        # alone): punctuation and a word may change, nothing more
        assert [r.text for i, r in enumerate(together) if i != 1] == [
            r.text for i, r in enumerate(alone) if i != 1
        ]
        assert scoring.wer(alone[1].text, together[1].text) < 0.05
    else:
        assert [r.text for r in together] == [r.text for r in alone]
    assert engine.batches_utterances
    assert told[-1] == (4, 4, "utterances") and all(u == "utterances" for *_, u in told)
    assert [done for done, *_ in told] == sorted(done for done, *_ in told)
    short = [r for i, r in enumerate(together) if i != 1]
    errors = scoring.corpus_word_errors(
        (u.id, u.reference, r.text) for u, r in zip(corpus.utterances, short, strict=True)
    )
    assert errors.wer is not None and errors.wer < 0.25, errors
    assert len(together[1].text.split()) > 60  # 36 s of speech: both windows


@pytest.mark.parametrize("engine", ["transformers"], indirect=True)
def test_ours_decodes_utterances_together_longest_first(
    engine: WhisperImplementation, audios: list[np.ndarray]
) -> None:
    assert isinstance(engine, TransformersPipeline)
    batches: list[list[int]] = []
    decode = engine._decode

    def counted(*args: Any, **kwargs: Any) -> list[list[int]]:
        batches.append([round(window.seconds) for window in args[2]])
        return decode(*args, **kwargs)  # type: ignore[no-any-return]

    engine._decode = counted  # type: ignore[method-assign]
    try:
        results = engine.transcribe_batch(audios)
    finally:
        del engine._decode
    # five windows (the long clip is two) in batches of 4, the longest utterance first
    assert len(batches) == 2 and [len(b) for b in batches] == [4, 1]
    assert sum(batches[0][:2]) == LONG_S
    assert [len(r.segments) for r in results] == [1, 2, 1, 1]
    assert results[1].segments[0].end == pytest.approx(results[1].segments[1].start)
    assert engine.get_params()["encoder_rows"] == 1  # on the CPU, window by window
    assert len(engine.decoders) == 1  # one decoder (one set of buffers) for every batch
