"""The whisper.cpp implementation (pywhispercpp): its decisions, and real tiny.en weights on the
CPU, converted to a ggml file from the offline transformers snapshot on first use."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from engine_helpers import LONG_FORM_WER_GAP, clip_wer, loaded, needs

from whisperbench.devices import engine_cpu_threads
from whisperbench.implementations import ImplementationOptions, WhisperImplementation
from whisperbench.implementations.base import ModelInfo
from whisperbench.implementations.whisper_cpp import (
    NO_SPEECH_OFF,
    WhisperCpp,
    backend_in_log,
    decode_params,
    wheel_devices,
)

EN = ModelInfo("tiny.en", "whisper.cpp", "ggml", "openai/whisper-tiny.en", 15.0, True)
MULTI = ModelInfo("base", "whisper.cpp", "ggml", "openai/whisper-base", 15.0, False)
LINUX_WHEEL = (
    "WHISPER : COREML = 0 | OPENVINO = 0 | CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | "
    "F16C = 1 | FMA = 1 | BMI2 = 1 | OPENMP = 1 | REPACK = 1 |"
)


# -- decisions (no model) ---------------------------------------------------------------------


def test_devices_come_from_the_wheels_backends() -> None:
    assert wheel_devices(LINUX_WHEEL) == ("cpu",)
    assert wheel_devices("WHISPER : COREML = 0 | Metal : EMBED_LIBRARY = 1 | CPU : NEON = 1 |") == (
        "mps",
        "cpu",
    )
    assert wheel_devices("CUDA : ARCHS = 890 | CPU : AVX2 = 1 |") == ("cuda", "cpu")


def test_apple_silicon_may_run_metal_and_the_load_log_says_which_backend_runs() -> None:
    assert wheel_devices(LINUX_WHEEL, apple_silicon=True) == ("mps", "cpu")
    assert backend_in_log("whisper_backend_init_gpu: using Metal backend\n") == "mps"
    assert backend_in_log("whisper_backend_init_gpu: using CUDA0 backend") == "cuda"
    found_none = "whisper_backend_init_gpu: device 0: CPU (type: 0)\n"
    assert backend_in_log(found_none + "whisper_backend_init_gpu: no GPU found\n") == "cpu"
    assert backend_in_log("whisper_init_with_params_no_state: use gpu    = 0\n") is None


def test_decoding_parameters_are_the_comparable_ones() -> None:
    strategy, params = decode_params(EN, ImplementationOptions(), threads=3)
    assert strategy == 0 and params["greedy"] == {"best_of": 1}
    assert params["n_threads"] == 3
    assert (params["temperature"], params["temperature_inc"]) == (0.0, 0.0)  # no fallback
    assert params["no_context"] is True  # no conditioning on the previous window
    assert params["no_speech_thold"] == NO_SPEECH_OFF
    assert (params["language"], params["no_timestamps"]) == ("en", False)
    strategy, params = decode_params(MULTI, ImplementationOptions(beam_size=4), threads=1)
    assert strategy == 1 and params["beam_search"]["beam_size"] == 4
    assert params["language"] == "auto"
    _, params = decode_params(MULTI, ImplementationOptions(language="fr"), threads=1)
    assert params["language"] == "fr"


def test_missing_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pywhispercpp", None)  # find_spec -> None
    reason = WhisperCpp.unavailable_reason()
    assert reason is not None and "pip install" in reason and "pywhispercpp" in reason


# -- real weights, CPU, offline ----------------------------------------------------------------


@pytest.fixture(scope="module")
def cpp_tiny(offline_hub_cache: Path) -> Iterator[WhisperImplementation]:
    impl = loaded("whisper.cpp", offline_hub_cache, vad=True, batch_size=4)
    yield impl
    impl.cleanup()


@pytest.mark.slow
@needs("whisper.cpp")
def test_short_clip_word_for_word(cpp_tiny: WhisperImplementation) -> None:
    error, result = clip_wer(cpp_tiny, "short")
    assert error == 0.0, result.text
    assert result.language == "en" and result.segments


@pytest.mark.slow
@needs("whisper.cpp")
def test_long_clip_close_to_openai_whisper(
    cpp_tiny: WhisperImplementation, openai_whisper_wer: Callable[[str], float]
) -> None:
    ours, _ = clip_wer(cpp_tiny, "long")
    assert ours <= openai_whisper_wer("long") + LONG_FORM_WER_GAP, ours


@pytest.mark.slow
@needs("whisper.cpp")
def test_params_report_what_runs(cpp_tiny: WhisperImplementation) -> None:
    params = cpp_tiny.get_params()
    assert (params["device"], params["dtype"], params["quantization"]) == ("cpu", "float16", "none")
    assert params["threads"] == engine_cpu_threads()
    assert (params["batch_size"], params["beam_size"], params["decoder"]) == (1, 1, "greedy")
    assert (params["temperature"], params["temperature_fallback"]) == (0.0, False)
    assert params["condition_on_previous_text"] is False
    assert params["language"] == "en"
    assert params["vad"] is False and "Silero" in params["vad_note"]
    assert "--batch-size 4" in params["batch_size_note"]
    assert "CPU :" in params["backends"]


@pytest.mark.slow
@needs("whisper.cpp")
def test_beam_size_is_read_back_from_whisper_cpp(offline_hub_cache: Path) -> None:
    impl = loaded("whisper.cpp", offline_hub_cache, beam_size=3)
    params = impl.get_params()
    assert (params["beam_size"], params["decoder"]) == (3, "beam search (3)")
    impl.cleanup()
