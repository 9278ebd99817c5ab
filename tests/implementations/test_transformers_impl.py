"""The transformers implementations on real tiny.en weights (CPU, offline), the model map as
loading really uses it, the registry, and the synthetic-weights mode.

Only the public interface is used: ``create(name, ImplementationOptions(...))``, the suite's
``load_model`` (the weights the implementation asks for, handed to ``load``), ``transcribe``
and ``get_params``, plus ``snapshot_path`` (set by ``load``) and, for the synthetic model's
architecture, the loaded ``pipe.model.config``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from helpers.cache_helpers import repo_dir
from test_audio import make_44k_stereo

from whisperbench.audio import AudioClip, fixture_clip_path, load_audio, load_clip
from whisperbench.errors import UnknownImplementationError
from whisperbench.implementations import (
    ImplementationOptions,
    WhisperImplementation,
    availability,
    builtin_names,
    create,
    registered_names,
)
from whisperbench.implementations.faster_whisper import FasterWhisper
from whisperbench.models import MODELS, get_model
from whisperbench.scoring import wer
from whisperbench.suite.pool import load_model
from whisperbench.weights import WeightsNotReady

pytestmark = pytest.mark.slow

SHORT_WER_MAX = 0.25
"""tiny.en on the ~9 s reference clip: measured 0.0 through both implementations."""

needs_faster_whisper = pytest.mark.skipif(
    FasterWhisper.unavailable_reason() is not None,
    reason=str(FasterWhisper.unavailable_reason()),
)


def _options(**extra: object) -> ImplementationOptions:
    return ImplementationOptions(device="cpu", **extra)  # type: ignore[arg-type]


def _loaded(
    name: str, cache: Path, size: str = "tiny.en", **extra: object
) -> WhisperImplementation:
    impl = create(name, _options(**extra))
    load_model(impl, size, cache_dir=cache)
    return impl


@pytest.fixture(scope="module")
def short_clip() -> AudioClip:
    return load_clip(fixture_clip_path("short"))


@pytest.fixture(scope="module")
def tiny(offline_hub_cache: Path) -> Iterator[WhisperImplementation]:
    impl = _loaded("transformers", offline_hub_cache)
    yield impl
    impl.cleanup()


@pytest.fixture(scope="module")
def tiny_reference(offline_hub_cache: Path) -> Iterator[WhisperImplementation]:
    impl = _loaded("transformers-reference", offline_hub_cache)
    yield impl
    impl.cleanup()


@pytest.fixture(scope="module")
def short_transcript(tiny: WhisperImplementation, short_clip: AudioClip) -> str:
    """The 16 kHz mono clip through ``transformers``, transcribed once for the module."""
    return tiny.transcribe(short_clip.samples).text


# -- transcription and reported settings --------------------------------------------------------


def test_transformers_transcribes_the_short_clip(
    tiny: WhisperImplementation, short_clip: AudioClip, short_transcript: str
) -> None:
    assert short_clip.reference is not None
    assert short_transcript
    assert wer(short_clip.reference, short_transcript) <= SHORT_WER_MAX, short_transcript


def test_transformers_reference_transcribes_the_short_clip(
    tiny_reference: WhisperImplementation, short_clip: AudioClip
) -> None:
    assert short_clip.reference is not None
    result = tiny_reference.transcribe(short_clip.samples)
    assert result.language == "en"
    assert result.text
    assert wer(short_clip.reference, result.text) <= SHORT_WER_MAX, result.text


@pytest.mark.parametrize("name", ["transformers", "transformers-reference"])
def test_params_on_cpu(
    name: str, tiny: WhisperImplementation, tiny_reference: WhisperImplementation
) -> None:
    impl = {"transformers": tiny, "transformers-reference": tiny_reference}[name]
    params = impl.get_params()
    assert params["implementation"] == name
    assert params["model"] == "tiny.en"
    assert params["repo_id"] == "openai/whisper-tiny.en"
    assert params["weights"] == "real"
    assert (params["device"], params["dtype"]) == ("cpu", "float32")
    assert params["attention"] == "sdpa"
    assert params["quantization"] == "none"
    assert params["quantization_note"] is None
    assert params["threads"] == torch.get_num_threads()


def test_4bit_request_without_bitsandbytes_loads_unquantised_and_says_why(
    offline_hub_cache: Path, short_clip: AudioClip, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(With bitsandbytes, 4-bit runs on the CPU: ``test_four_bit.py``.)"""
    monkeypatch.setitem(sys.modules, "bitsandbytes", None)  # find_spec -> None: not installed
    impl = _loaded("transformers", offline_hub_cache, quantization="4bit")
    try:
        params = impl.get_params()
        assert params["quantization"] == "none"
        assert (params["device"], params["dtype"]) == ("cpu", "float32")
        note = params["quantization_note"]
        assert note and "4-bit" in note and "bitsandbytes" in note, note
    finally:
        impl.cleanup()


# -- audio in any format -------------------------------------------------------------------------


def test_44k_stereo_gives_the_same_transcript_as_16k_mono(
    tiny: WhisperImplementation, short_transcript: str, tmp_path: Path
) -> None:
    path = make_44k_stereo(tmp_path)
    assert sf.info(path).samplerate == 44_100 and sf.info(path).channels == 2
    samples = load_audio(path)
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert tiny.transcribe(samples).text == short_transcript


# -- the model map, as loading uses it ------------------------------------------------------------

MAP_IMPLEMENTATIONS = [
    "transformers",
    pytest.param("faster-whisper", marks=needs_faster_whisper),
]


@pytest.mark.parametrize("name", MAP_IMPLEMENTATIONS)
@pytest.mark.parametrize("size", list(MODELS))
def test_load_model_looks_for_the_mapped_repo(name: str, size: str, tmp_path: Path) -> None:
    """With an empty cache, loading names the repo it looked for: the one the model map
    (through ``get_model_info``) gives for this size and the implementation's format."""
    impl = create(name, _options())
    info = impl.get_model_info(size)
    assert info.repo_id == get_model(size).repo_id(impl.weights_format)
    assert info.weights_format == info.family == impl.weights_format == impl.family
    with pytest.raises(WeightsNotReady) as caught:
        load_model(impl, size, cache_dir=tmp_path / "empty-cache")
    assert caught.value.repo_id == info.repo_id
    message = str(caught.value)
    assert info.repo_id in message
    assert f"whisperbench download --model {size} --implementations {name}" in message
    assert impl.snapshot_path is None and impl.model_info is None


@pytest.mark.parametrize(
    ("name", "family"),
    [
        pytest.param("transformers", "transformers", id="transformers"),
        pytest.param(
            "faster-whisper", "ctranslate2", id="faster-whisper", marks=needs_faster_whisper
        ),
    ],
)
def test_cached_tiny_en_loads_from_the_mapped_repo(
    name: str, family: str, offline_hub_cache: Path, tiny: WhisperImplementation
) -> None:
    impl = tiny if name == "transformers" else _loaded(name, offline_hub_cache)
    try:
        assert impl.family == family
        info = impl.get_model_info("tiny.en")
        assert info.repo_id == get_model("tiny.en").repo_id(impl.family)
        folder = repo_dir(offline_hub_cache, info.repo_id)
        expected = {
            "transformers": "models--openai--whisper-tiny.en",
            "ctranslate2": "models--Systran--faster-whisper-tiny.en",
        }[family]
        assert folder.name == expected
        assert impl.snapshot_path is not None
        assert impl.snapshot_path.resolve().is_relative_to(folder.resolve() / "snapshots")
        assert impl.get_params()["repo_id"] == info.repo_id
    finally:
        if impl is not tiny:
            impl.cleanup()


# -- the registry --------------------------------------------------------------------------------


def test_unknown_implementation_lists_the_registered_names() -> None:
    with pytest.raises(UnknownImplementationError) as caught:
        create("whisper-cpp-turbo", ImplementationOptions(device="cpu"))
    message = str(caught.value)
    assert "'whisper-cpp-turbo'" in message
    for name in registered_names():
        assert name in message
    for name in builtin_names():
        assert name in message


def test_availability_lists_every_registered_implementation() -> None:
    entries = availability()
    assert [entry.name for entry in entries] == registered_names()
    assert set(builtin_names()) <= {entry.name for entry in entries}
    for entry in entries:
        assert entry.available == (entry.reason is None), entry
    transformers = next(entry for entry in entries if entry.name == "transformers")
    assert transformers.available


def test_availability_gives_the_reason_for_an_unavailable_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "faster_whisper", None)  # as if it were not installed
    entries = {entry.name: entry for entry in availability()}
    assert set(entries) == set(registered_names())
    missing = entries["faster-whisper"]
    assert not missing.available
    assert missing.reason and "faster_whisper" in missing.reason and "pip install" in missing.reason
    assert entries["transformers"].available and entries["transformers"].reason is None


# -- synthetic weights ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def synthetic_tiny(offline_hub_cache: Path) -> Iterator[WhisperImplementation]:
    """Random weights of ``tiny`` (not cached here): only the donor tiny.en's tokenizer is read."""
    impl = _loaded("transformers", offline_hub_cache, size="tiny", synthetic_tokens=8)
    yield impl
    impl.cleanup()


def test_synthetic_tiny_decodes_and_says_so(
    synthetic_tiny: WhisperImplementation, short_clip: AudioClip, offline_hub_cache: Path
) -> None:
    result = synthetic_tiny.transcribe(short_clip.samples)
    assert result.text  # random weights: tokens, not words (8 decoded for the one window)
    assert result.language == "en"  # the donor tiny.en's prompt
    params = synthetic_tiny.get_params()
    assert params["weights"] == "synthetic"
    assert params["synthetic_tokens_per_window"] == 8
    assert params["max_new_tokens"] == 8
    assert params["model"] == "tiny"
    assert params["repo_id"] == "openai/whisper-tiny"
    assert synthetic_tiny.snapshot_path is not None
    donor = repo_dir(offline_hub_cache, "openai/whisper-tiny.en")
    assert synthetic_tiny.snapshot_path.resolve().is_relative_to(donor.resolve())


def test_synthetic_model_has_the_mapped_architecture(
    synthetic_tiny: WhisperImplementation,
) -> None:
    arch = get_model("tiny").architecture
    config = synthetic_tiny.pipe.model.config  # type: ignore[attr-defined]
    assert config.d_model == arch.d_model
    assert config.encoder_layers == arch.encoder_layers
    assert config.decoder_layers == arch.decoder_layers
    assert config.encoder_attention_heads == arch.attention_heads
    assert config.decoder_attention_heads == arch.attention_heads
    assert config.num_mel_bins == arch.num_mel_bins
    assert config.vocab_size == arch.vocab_size
    assert config.encoder_ffn_dim == config.decoder_ffn_dim == arch.ffn_dim
