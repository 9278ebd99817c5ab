"""The faster-whisper implementation: its decisions, and real tiny.en weights on CPU, offline."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from whisperbench.audio import SAMPLE_RATE, AudioClip, fixture_clip_path, load_clip
from whisperbench.devices import DevicePresence, cpu_thread_count
from whisperbench.errors import DeviceUnavailableError, ImplementationUnavailableError
from whisperbench.implementations import (
    ImplementationOptions,
    WhisperImplementation,
    availability,
    create,
    get_implementation,
)
from whisperbench.implementations.faster_whisper import (
    FasterWhisper,
    ct2_device_request,
    quantization_of,
    resolve_compute_type,
)
from whisperbench.implementations.windows import quiet_windows
from whisperbench.scoring import wer
from whisperbench.suite.pool import load_model

SHORT_WER_MAX = 0.25
"""Measured 0.0 (tiny.en, int8, greedy)."""
MEDIUM_WER_MAX = 0.25
"""Measured 0.12 (quiet-cut windows, batch 8)."""
SAME_CLIP_WER_GAP = 0.10
REPORTED_BY_BOTH = {
    "implementation",
    "model",
    "repo_id",
    "weights",
    "device",
    "dtype",
    "attention",
    "quantization",
    "quantization_note",
    "batch_size",
    "chunk_length_s",
    "beam_size",
    "max_new_tokens",
    "task",
    "language",
    "vad",
}
"""The settings a report lines up side by side for every implementation."""

needs_faster_whisper = pytest.mark.skipif(
    FasterWhisper.unavailable_reason() is not None,
    reason=str(FasterWhisper.unavailable_reason()),
)


# -- decisions (no model) ---------------------------------------------------------------------


def test_registered_as_builtin() -> None:
    assert get_implementation("faster-whisper") is FasterWhisper
    assert FasterWhisper.family == "ctranslate2"
    assert FasterWhisper.package == "faster-whisper"


def test_mps_is_not_a_supported_device() -> None:
    assert "mps" not in FasterWhisper.supported_devices
    assert set(FasterWhisper.supported_devices) == {"cpu", "cuda"}


def test_synthetic_weights_are_refused_clearly() -> None:
    with pytest.raises(ImplementationUnavailableError, match="synthetic"):
        FasterWhisper(ImplementationOptions(device="cpu", synthetic_tokens=96))


def test_explicit_mps_request_errors_clearly() -> None:
    # Here MPS is absent, so device resolution refuses first; on a Mac the implementation's
    # supported_devices check does (ImplementationUnavailableError). Both name mps.
    with pytest.raises((DeviceUnavailableError, ImplementationUnavailableError), match="mps"):
        FasterWhisper(ImplementationOptions(device="mps"))


def test_auto_device_never_picks_mps() -> None:
    mac = DevicePresence(cuda=False, mps=True)
    assert ct2_device_request("auto", mac) == "cpu"
    assert ct2_device_request("auto", DevicePresence(cuda=True, mps=False)) == "cuda"
    assert ct2_device_request("auto", DevicePresence(cuda=False, mps=False)) == "cpu"
    assert ct2_device_request("mps", mac) == "mps"  # explicit: passed on, then refused
    assert ct2_device_request("cuda:1", mac) == "cuda:1"


def test_compute_type_defaults_and_overrides() -> None:
    assert resolve_compute_type("cpu", None) == "int8"
    assert resolve_compute_type("cuda", None) == "float16"
    assert resolve_compute_type("cuda", "int8_float16") == "int8_float16"
    assert resolve_compute_type("cpu", "FP32") == "float32"
    with pytest.raises(ValueError, match="int8_float16"):
        resolve_compute_type("cpu", "int4")


def test_quantization_follows_compute_type() -> None:
    assert quantization_of("int8_float32") == "int8"
    assert quantization_of("int8") == "int8"
    assert quantization_of("int16") == "int16"
    assert quantization_of("float16") == "none"


def test_cpu_threads_default_to_usable_cpus_unless_set() -> None:
    assert cpu_thread_count({"OMP_NUM_THREADS": "3"}) == 3
    usable = cpu_thread_count({})
    assert 1 <= usable <= (os.cpu_count() or 1)
    assert cpu_thread_count({"OMP_NUM_THREADS": "0"}) == usable


def test_cpu_threads_on_a_mac_count_only_performance_cores() -> None:
    """An M2 Pro has 8 performance and 4 efficiency cores (``sysctl hw.perflevel0.physicalcpu``
    says 8): 8 threads, not 12; OMP_NUM_THREADS still wins."""
    assert cpu_thread_count({}, performance_cores=8) == 8
    assert cpu_thread_count({"OMP_NUM_THREADS": "2"}, performance_cores=8) == 2


def test_unavailable_without_the_package_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "faster_whisper", None)  # find_spec -> None
    reason = FasterWhisper.unavailable_reason()
    assert reason is not None and "pip install" in reason and "faster" in reason
    entry = next(item for item in availability() if item.name == "faster-whisper")
    assert not entry.available and entry.reason == reason
    with pytest.raises(ImplementationUnavailableError, match="pip install"):
        create("faster-whisper", ImplementationOptions(device="cpu"))


@pytest.mark.slow
def test_module_imports_without_faster_whisper() -> None:
    code = (
        "import sys; sys.modules['faster_whisper'] = None; sys.modules['ctranslate2'] = None\n"
        "from whisperbench.implementations.faster_whisper import FasterWhisper\n"
        "print(FasterWhisper.unavailable_reason())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install" in out.stdout


# -- real weights, CPU, offline ----------------------------------------------------------------


@pytest.fixture(scope="module")
def short_clip() -> AudioClip:
    return load_clip(fixture_clip_path("short"))


def _loaded(name: str, cache: Path, **options: object) -> WhisperImplementation:
    impl = create(name, ImplementationOptions(device="cpu", **options))  # type: ignore[arg-type]
    load_model(impl, "tiny.en", cache_dir=cache)
    return impl


@pytest.fixture(scope="module")
def faster_tiny(offline_hub_cache: Path) -> Iterator[WhisperImplementation]:
    impl = _loaded("faster-whisper", offline_hub_cache)
    yield impl
    impl.cleanup()


@pytest.fixture(scope="module")
def transformers_tiny(offline_hub_cache: Path) -> Iterator[WhisperImplementation]:
    impl = _loaded("transformers", offline_hub_cache)
    yield impl
    impl.cleanup()


@needs_faster_whisper
def test_tiny_en_transcribes_short_clip(
    faster_tiny: WhisperImplementation, short_clip: AudioClip
) -> None:
    assert short_clip.reference is not None
    result = faster_tiny.transcribe(short_clip.samples)
    assert result.language == "en"
    assert result.segments and result.text
    assert wer(short_clip.reference, result.text) <= SHORT_WER_MAX, result.text


@needs_faster_whisper
def test_same_clip_close_wer_through_both_implementations(
    faster_tiny: WhisperImplementation,
    transformers_tiny: WhisperImplementation,
    short_clip: AudioClip,
) -> None:
    assert short_clip.reference is not None
    fw = wer(short_clip.reference, faster_tiny.transcribe(short_clip.samples).text)
    tf = wer(short_clip.reference, transformers_tiny.transcribe(short_clip.samples).text)
    assert abs(fw - tf) <= SAME_CLIP_WER_GAP, (fw, tf)


@needs_faster_whisper
def test_long_form_runs_batched_over_quiet_windows(faster_tiny: WhisperImplementation) -> None:
    clip = load_clip(fixture_clip_path("medium"))
    assert clip.reference is not None and clip.duration_s > 30
    assert isinstance(faster_tiny, FasterWhisper) and faster_tiny.is_long_form(clip.samples)
    result = faster_tiny.transcribe(clip.samples)
    windows = quiet_windows(clip.samples)
    # Without timestamp tokens the batched pipeline gives one segment per window.
    assert [(s.start, s.end) for s in result.segments] == [
        pytest.approx((w.start / SAMPLE_RATE, w.end / SAMPLE_RATE), abs=0.01) for w in windows
    ]
    assert wer(clip.reference, result.text) <= MEDIUM_WER_MAX, result.text


@needs_faster_whisper
def test_multilingual_base_reports_the_language_it_detected(
    offline_hub_cache: Path, short_clip: AudioClip
) -> None:
    """``language`` is what was decoded (CTranslate2's detection), not the request echoed
    back: None before any call (nothing forced), ``en`` once the clip was transcribed."""
    impl = create("faster-whisper", ImplementationOptions(device="cpu"))
    load_model(impl, "base", cache_dir=offline_hub_cache)
    try:
        assert impl.get_params()["language"] is None
        assert impl.transcribe(short_clip.samples).language == "en"
        assert impl.get_params()["language"] == "en"
        assert impl.transcribe_batch([short_clip.samples])[0].language == "en"
        assert impl.get_params()["language"] == "en"
    finally:
        impl.cleanup()


@needs_faster_whisper
def test_params_report_what_runs(
    faster_tiny: WhisperImplementation, transformers_tiny: WhisperImplementation
) -> None:
    params = faster_tiny.get_params()
    assert params["device"] == "cpu"
    assert params["compute_type"].startswith("int8")  # int8 weights, float32 activations
    assert params["quantization"] == "int8"
    assert params["beam_size"] == 1
    assert params["vad"] is False
    assert params["batch_size"] == 8
    assert params["chunk_length_s"] == 30
    assert params["condition_on_previous_text"] is False
    assert params["cpu_threads"] == cpu_thread_count()
    shared = set(transformers_tiny.get_params()) & set(params)
    assert not REPORTED_BY_BOTH - shared, REPORTED_BY_BOTH - shared


@needs_faster_whisper
def test_dtype_option_sets_compute_type(offline_hub_cache: Path) -> None:
    impl = _loaded("faster-whisper", offline_hub_cache, dtype="float32", vad=True, beam_size=2)
    params = impl.get_params()
    assert (params["compute_type"], params["quantization"]) == ("float32", "none")
    assert (params["vad"], params["beam_size"]) == (True, 2)
    impl.cleanup()


@needs_faster_whisper
def test_compute_type_the_device_cannot_run_is_a_clear_error(offline_hub_cache: Path) -> None:
    impl = create(
        "faster-whisper",
        ImplementationOptions(device="cpu", dtype="bfloat16"),
    )
    with pytest.raises(ValueError, match=r"bfloat16.*supports: .*int8"):
        load_model(impl, "tiny.en", cache_dir=offline_hub_cache)
