"""The shipped fake engine: deterministic transcripts from the audio or from a handler,
``get_params()`` for what it does, registered as ``fake`` but run only when named."""

from __future__ import annotations

import numpy as np
import pytest

from whisperbench.audio import fixture_clip_path, load_audio
from whisperbench.errors import UnknownModelError
from whisperbench.implementations import (
    TEST_DOUBLES,
    TranscriptionResult,
    create,
    default_names,
    get_implementation,
    parse_implementation_list,
    registered_names,
)
from whisperbench.implementations.fake import FakeWhisper, saying, words_from_audio


def test_words_come_from_the_audio_one_per_second_and_always_the_same() -> None:
    samples = load_audio(fixture_clip_path("short"))
    first = words_from_audio(samples)
    assert first == words_from_audio(samples.copy())
    assert len(first.text.split()) == int(np.ceil(len(samples) / 16_000))
    assert first.segments[0].start == 0.0 and first.segments[-1].end == pytest.approx(
        len(samples) / 16_000
    )
    assert words_from_audio(samples[::-1].copy()).text != first.text


def test_a_handler_decides_what_was_said() -> None:
    engine = FakeWhisper(handler=saying("hello there", language="de"))
    engine.load(None, engine.get_model_info("base"))
    result = engine.transcribe(np.zeros(8_000, dtype=np.float32))
    assert (result.text, result.language) == ("hello there", "de")
    assert result.timings["handler"] >= 0

    def shout(audio: np.ndarray) -> TranscriptionResult:
        return TranscriptionResult(f"{len(audio)} SAMPLES", "en")

    engine = FakeWhisper.with_handler(shout)()
    engine.load(None, engine.get_model_info("tiny.en"))
    assert engine.transcribe(np.zeros(3, dtype=np.float32)).text == "3 SAMPLES"
    assert engine.get_params()["decoder"] == "fake (shout)"


def test_params_say_what_it_does() -> None:
    engine = FakeWhisper(create("fake").options)
    with pytest.raises(RuntimeError, match="before transcribing"):
        engine.transcribe(np.zeros(10, dtype=np.float32))
    engine.options.batch_size = 4
    engine.options.quantization = "4bit"
    engine.load(None, engine.get_model_info("tiny.en"))
    params = engine.get_params()
    assert params["model"] == "tiny.en"
    assert params["batch_size"] == 4 and engine.batch_size == 4
    assert params["quantization"] == "none"
    assert "4bit was not applied" in params["quantization_note"]
    assert params["dtype"] == "float32" and params["chunk_length_s"] == 30
    with pytest.raises(UnknownModelError):
        engine.load(None, engine.get_model_info("huge"))


def test_registered_but_run_only_when_named() -> None:
    assert get_implementation("fake") is FakeWhisper
    assert "fake" in TEST_DOUBLES
    assert FakeWhisper.needs_weights is False
    assert "fake" not in registered_names()
    assert "fake" not in default_names()
    assert "fake" not in parse_implementation_list("all")
    assert parse_implementation_list("transformers,fake") == ["transformers", "fake"]
    assert isinstance(create("fake"), FakeWhisper)
