"""The whisper.cpp implementation (pywhispercpp): its decisions, and real tiny.en weights on the
CPU, converted to a ggml file from the offline transformers snapshot on first use."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers.engine_helpers import LONG_FORM_WER_GAP, clip_wer, loaded, needs

from whisperbench.devices import engine_cpu_threads
from whisperbench.errors import ImplementationUnavailableError
from whisperbench.implementations import ImplementationOptions, WhisperImplementation
from whisperbench.implementations.base import ModelInfo
from whisperbench.implementations.whisper_cpp import (
    NO_SPEECH_OFF,
    WhisperCpp,
    backend_device,
    backend_in_log,
    decode_params,
    load_outcome,
    wheel_devices,
)

EN = ModelInfo("tiny.en", "whisper.cpp", "ggml", "openai/whisper-tiny.en", 15.0, True)
MULTI = ModelInfo("base", "whisper.cpp", "ggml", "openai/whisper-base", 15.0, False)
LINUX_WHEEL = (
    "WHISPER : COREML = 0 | OPENVINO = 0 | CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | "
    "F16C = 1 | FMA = 1 | BMI2 = 1 | OPENMP = 1 | REPACK = 1 |"
)
"""pywhispercpp 1.5.1's Linux wheel, as it reports itself here."""
MAC_METAL_WHEEL = (
    "WHISPER : COREML = 0 | OPENVINO = 0 | MTL : EMBED_LIBRARY = 1 | CPU : NEON = 1 | "
    "ARM_FMA = 1 | FP16_VA = 1 | DOTPROD = 1 | ACCELERATE = 1 | REPACK = 1 |"
)
"""A macOS arm64 build with ggml's defaults: the Metal backend registers as ``MTL`` and lists
its one feature (ggml-metal.cpp); written from the sources, not captured on a Mac."""
MAC_CPU_WHEEL = "WHISPER : COREML = 0 | OPENVINO = 0 | CPU : NEON = 1 | ARM_FMA = 1 | REPACK = 1 |"
LOGS = Path(__file__).resolve().parents[2] / "fixtures" / "whisper_cpp"
"""Load logs: the Linux wheel's, captured here; a Metal load and a CPU-only build on a Mac,
assembled from whisper.cpp's and ggml's sources (each file says so on its first line)."""


# -- decisions (no model) ---------------------------------------------------------------------


def test_devices_come_from_the_wheels_backends() -> None:
    """Each registered backend is listed by name, with or without features; builds from
    before ggml's registry listed flags. A CPU-only build on a Mac offers the CPU alone."""
    assert wheel_devices(LINUX_WHEEL) == ("cpu",)
    assert wheel_devices(MAC_METAL_WHEEL) == ("mps", "cpu")
    assert wheel_devices("WHISPER : COREML = 0 | MTL : CPU : NEON = 1 |") == ("mps", "cpu")
    assert wheel_devices("WHISPER : COREML = 0 | Metal : EMBED_LIBRARY = 1 | CPU : NEON = 1 |") == (
        "mps",
        "cpu",
    )
    assert wheel_devices("AVX = 0 | NEON = 1 | METAL = 1 | CUDA = 0 | COREML = 0 |") == (
        "mps",
        "cpu",
    )
    assert wheel_devices("CUDA : ARCHS = 890 | CPU : AVX2 = 1 |") == ("cuda", "cpu")
    assert wheel_devices(MAC_CPU_WHEEL) == ("cpu",)


@pytest.mark.parametrize(
    ("name", "device"),
    [("MTL0", "mps"), ("MTL1", "mps"), ("Metal", "mps"), ("CUDA0", "cuda"), ("Vulkan0", "vulkan")],
)
def test_ggml_device_names_are_our_devices(name: str, device: str) -> None:
    assert backend_device(name) == device


@pytest.mark.parametrize(
    ("log", "device"),
    [
        ("mac-metal-mtl0.log", "mps"),
        ("mac-cpu-only-wheel.log", "cpu"),
        ("linux-cpu-wheel.log", "cpu"),
    ],
)
def test_the_load_log_says_which_backend_runs(log: str, device: str) -> None:
    """Recent ggml names the Metal device ``MTL0`` (the load used to raise on ``mtl0``); the
    ACCEL line (``whisper_backend_init: using BLAS backend``) is not the GPU's."""
    assert backend_in_log((LOGS / log).read_text()) == device


def test_a_gpu_backend_that_failed_to_start_leaves_the_cpu() -> None:
    assert backend_in_log("whisper_backend_init_gpu: using Metal backend\n") == "mps"
    assert backend_in_log("whisper_backend_init_gpu: using CUDA0 backend") == "cuda"
    failed = (
        "whisper_backend_init_gpu: using MTL0 backend\n"
        "whisper_backend_init_gpu: failed to initialize MTL0 backend\n"
    )
    assert backend_in_log(failed) == "cpu"
    assert backend_in_log("whisper_init_with_params_no_state: use gpu    = 0\n") is None


def test_a_named_device_it_does_not_run_on_skips_with_the_reason() -> None:
    """``--device mps`` where whisper.cpp's load log says CPU: ImplementationUnavailableError,
    which the suite turns into a skip (``test_the_pool_skips_what_loaded_but_cannot_run``)."""
    with pytest.raises(ImplementationUnavailableError) as caught:
        load_outcome("mps", "mps", "cpu", "mps", MAC_METAL_WHEEL)
    message = str(caught.value)
    assert message.startswith("whisper.cpp was asked for mps but its load log says it runs on cpu")
    assert "MTL : EMBED_LIBRARY = 1" in message and "--device cpu" in message
    assert load_outcome("mps", "mps", "mps", "mps", MAC_METAL_WHEEL) is None
    assert load_outcome("cpu", "cpu", "cpu", "mps", MAC_METAL_WHEEL) is None


def test_auto_falls_back_to_the_cpu_with_a_note() -> None:
    """``--device auto`` on a Mac: a CPU-only wheel never asks for Metal (its devices are the
    CPU alone) and says why in its parameters; a Metal backend that failed to start, too."""
    no_metal = load_outcome("auto", "cpu", "cpu", "mps", MAC_CPU_WHEEL)
    assert no_metal is not None
    assert no_metal.startswith("whisper.cpp runs on cpu, not mps: this pywhispercpp build has no")
    assert "Metal backend" in no_metal and "CPU : NEON = 1" in no_metal
    failed = load_outcome("auto", "mps", "cpu", "mps", MAC_METAL_WHEEL)
    assert failed == (
        "whisper.cpp runs on cpu, not mps: its Metal backend did not start (its load log)"
    )
    assert load_outcome("auto", "mps", "mps", "mps", MAC_METAL_WHEEL) is None
    assert load_outcome("auto", "cpu", "cpu", "cpu", LINUX_WHEEL) is None
    on_cuda = load_outcome("auto", "cpu", "cpu", "cuda", LINUX_WHEEL)
    assert on_cuda is not None and "no CUDA backend" in on_cuda


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


@pytest.mark.heavy
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
    assert params["device_note"] is None  # the CPU is the best device here
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
