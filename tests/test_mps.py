"""Every MPS decision, as the pure function it is, on any machine: the torch and macOS a Mac
needs, where the features are computed, the CPU fallback, the allocator's watermark, the free
working set, how a decoding step writes its column, and what the device memory figure is.

No machine that runs these tests has an Apple GPU. The Mac-only tests (``MAC_ONLY``, named in
the nightly MPS job) run the real ``torch.mps`` probes and check that ours decodes on MPS the
tokens it decodes on the CPU; elsewhere they skip and say why, and they fail instead where
``WHISPERBENCH_REQUIRE_MPS=1`` (the nightly MPS job) says the machine must have an Apple GPU."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import pytest
import torch

from whisperbench import devices, mps
from whisperbench.audio import fixture_clip_path, load_clip
from whisperbench.devices import DEVICE_MEMORY_MEASURES, DeviceMemory, DevicePresence
from whisperbench.errors import DeviceUnavailableError
from whisperbench.implementations import REGISTERED, ImplementationOptions, create
from whisperbench.implementations.faster_whisper import FasterWhisper, ct2_device_request
from whisperbench.implementations.greedy import (
    DecodeRules,
    StaticGreedyDecoder,
    prompt_ids,
    slot_write_for,
)
from whisperbench.implementations.transformers_pipeline import TransformersPipeline
from whisperbench.implementations.windows import log_mel, quiet_windows, window_batch
from whisperbench.results import LoadResult, from_extra_info, metric, to_extra_info
from whisperbench.scoring import wer
from whisperbench.suite.cases import Skip, SuiteConfig
from whisperbench.suite.measure import device_memory_fields
from whisperbench.suite.pool import ModelPool, load_model
from whisperbench.weights import provide

GiB = 2**30
MiB = 2**20
HAS_MPS = DevicePresence.detect().mps
REQUIRE_MPS = "WHISPERBENCH_REQUIRE_MPS"
"""Set to 1 by the nightly MPS job: there a Mac-only test without an Apple GPU fails."""
MAC_ONLY = (
    "test_the_real_mps_probes_on_a_mac",
    "test_ours_decodes_the_cpus_tokens_on_mps",
)
"""The tests that need an Apple GPU; ``.github/workflows/nightly.yml`` names each of them."""
NO_MPS = (
    "torch.mps cannot run here: this machine has no Apple GPU "
    f"(torch {torch.__version__}); the MPS decisions are tested above as pure functions"
)
MAX_NEW = 100


def test_versions_read_like_torch_and_macos_print_them() -> None:
    assert mps.version_tuple("2.8.0+cpu") == (2, 8, 0)
    assert mps.version_tuple("2.10.0.dev20251008") == (2, 10, 0)
    assert mps.version_tuple("13.6.1") == (13, 6, 1)
    assert mps.version_tuple("14.5") == (14, 5)
    assert mps.version_tuple("") == ()


def test_the_mps_path_needs_torch_2_5() -> None:
    problem = mps.torch_problem("2.4.1")
    assert problem is not None
    assert "torch 2.4.1" in problem and "pip install 'torch>=2.5'" in problem
    assert "--device cpu" in problem
    for supported in ("2.5.0", "2.7.1", "2.8.0", "2.13.0+cpu"):
        assert mps.torch_problem(supported) is None


def test_a_mac_with_a_torch_too_old_is_told_so() -> None:
    """``--device mps`` says which torch to install; ``auto`` takes the CPU (and says so in
    every saved run's parameters), as on a machine without MPS."""
    old_torch = DevicePresence(cuda=False, mps=True, mps_problem=mps.torch_problem("2.4.1"))
    with pytest.raises(DeviceUnavailableError, match=r"torch>=2\.5"):
        devices.resolve_device("mps", old_torch)
    assert devices.resolve_device("auto", old_torch) == "cpu"


def test_no_mps_names_the_macos_it_needs() -> None:
    with pytest.raises(DeviceUnavailableError) as caught:
        devices.resolve_device("mps", DevicePresence(cuda=False, mps=False))
    message = str(caught.value)
    assert "macOS 13 or newer" in message and "12.3" not in message
    assert "--device auto or cpu" in message


@pytest.mark.parametrize(
    ("device", "macos", "where"),
    [
        ("mps", "13.6.1", "cpu"),
        ("mps", "13.0", "cpu"),
        ("mps", "14.0", "mps"),
        ("mps", "15.2", "mps"),
        ("mps", "26.1", "mps"),
        ("cuda", None, "cuda"),
        ("cpu", "13.6", "cpu"),
    ],
)
def test_features_run_on_the_cpu_where_mps_has_no_fft(
    device: str, macos: str | None, where: str
) -> None:
    assert mps.feature_device(device, macos) == where


def test_the_features_note_says_where_and_why() -> None:
    assert mps.features_note("mps", "14.5") == "log-mel on mps, batched"
    assert mps.features_note("cuda", None) == "log-mel on cuda, batched"
    note = mps.features_note("mps", "13.6.1")
    assert note.startswith("log-mel on cpu, batched")
    assert "no FFT before macOS 14" in note and "13.6.1" in note


@pytest.mark.parametrize(
    ("value", "enabled"), [("1", True), ("2", True), ("0", False), ("", False), ("yes", False)]
)
def test_the_cpu_fallback_is_on_for_any_nonzero_integer(value: str, enabled: bool) -> None:
    assert mps.cpu_fallback_enabled({mps.FALLBACK_VARIABLE: value}) is enabled


def test_a_run_with_the_cpu_fallback_says_so() -> None:
    environ = {mps.FALLBACK_VARIABLE: "1"}
    note = mps.cpu_fallback_note("mps", environ)
    assert note is not None
    assert note.startswith("PYTORCH_ENABLE_MPS_FALLBACK=1") and "run on the CPU" in note
    assert mps.cpu_fallback_note("cpu", environ) is None
    assert mps.cpu_fallback_note("mps", {}) is None


def test_the_watermark_is_the_working_set_unless_the_user_chose() -> None:
    ours = mps.watermark({})
    assert (ours.ratio, ours.set_by_whisperbench) == (1.0, True)
    assert ours.describe() == "1 x recommended working set (whisperbench)"
    torch_default = mps.watermark({mps.WATERMARK_VARIABLE: "1.7"})
    assert (torch_default.ratio, torch_default.set_by_whisperbench) == (1.7, False)
    assert torch_default.limit_share == 1.0  # batches never planned past the working set
    unlimited = mps.watermark({mps.WATERMARK_VARIABLE: "0.0"})
    assert unlimited.limit_share == 1.0 and unlimited.describe().startswith("no limit")
    assert mps.watermark({mps.WATERMARK_VARIABLE: "0.8"}).limit_share == 0.8
    assert mps.watermark({mps.WATERMARK_VARIABLE: "lots"}).ratio == 0.0  # strtod reads 0
    assert mps.watermark({mps.WATERMARK_VARIABLE: " "}).set_by_whisperbench


def test_free_working_set_counts_live_tensors_and_the_system() -> None:
    ours = mps.watermark({})
    assert mps.free_bytes(10 * GiB, 2 * GiB, 20 * GiB, ours) == 8 * GiB
    assert mps.free_bytes(10 * GiB, 2 * GiB, 3 * GiB, ours) == 3 * GiB  # other apps hold memory
    assert mps.free_bytes(10 * GiB, 12 * GiB, 20 * GiB, ours) == 0
    half = mps.watermark({mps.WATERMARK_VARIABLE: "0.5"})
    assert mps.free_bytes(10 * GiB, 2 * GiB, 20 * GiB, half) == 3 * GiB


def test_the_decoder_writes_with_index_put_on_mps_only() -> None:
    assert slot_write_for("mps") == "index_put"
    assert slot_write_for("cuda") == "index_copy"
    assert slot_write_for("cpu") == "index_copy"


def test_device_memory_figures_say_what_they_are() -> None:
    assert DEVICE_MEMORY_MEASURES["cuda"].startswith("peak")
    assert "not a peak" in DEVICE_MEMORY_MEASURES["mps"]
    assert "current_allocated_memory" in DEVICE_MEMORY_MEASURES["mps"]
    cuda = device_memory_fields(DeviceMemory(DEVICE_MEMORY_MEASURES["cuda"], 300 * MiB, 100 * MiB))
    assert (cuda["peak_device_mb"], cuda["device_live_mb"]) == (300, None)
    assert cuda["device_baseline_mb"] == 100
    mac = device_memory_fields(DeviceMemory(DEVICE_MEMORY_MEASURES["mps"], 300 * MiB, 100 * MiB))
    assert mac["peak_device_mb"] is None  # not a peak: never in the peak column
    assert mac["device_live_mb"] == 300 and mac["device_memory_measure"].startswith("allocated")
    assert device_memory_fields(None) == {}
    assert devices.start_device_memory("cpu") is None
    assert devices.end_device_memory("cpu", None) is None


def test_the_records_keep_the_mps_figure_apart_from_the_peak() -> None:
    """Saved and read back, an MPS load keeps its figure under its own name and label; the
    report's columns are ``Peak device MB`` (CUDA) and ``MPS live MB``."""
    memory = DeviceMemory(DEVICE_MEMORY_MEASURES["mps"], 300 * MiB, 100 * MiB)
    saved = to_extra_info(
        LoadResult(implementation="transformers", model="tiny.en", **device_memory_fields(memory))
    )
    record = from_extra_info(saved)
    assert (record.peak_device_mb, record.device_live_mb) == (None, 300)
    assert record.device_memory_measure == DEVICE_MEMORY_MEASURES["mps"]
    assert metric("device_live_mb").value(None, record) == 300
    assert metric("peak_device_mb").value(None, record) is None
    assert metric("device_live_mb").label != metric("peak_device_mb").label


def mac_only(has_mps: bool, environ: Mapping[str, str]) -> Literal["run", "skip", "fail"]:
    """What a Mac-only test does here: run on an Apple GPU; elsewhere skip with the reason,
    unless ``WHISPERBENCH_REQUIRE_MPS=1`` says this machine must have one (a runner whose MPS
    is broken must not pass the nightly's Mac-only tests by skipping them)."""
    if has_mps:
        return "run"
    return "fail" if environ.get(REQUIRE_MPS, "").strip() == "1" else "skip"


def test_mac_only_tests_fail_where_the_nightly_requires_a_gpu() -> None:
    assert mac_only(True, {}) == "run"
    assert mac_only(False, {}) == "skip"
    assert mac_only(False, {REQUIRE_MPS: "1"}) == "fail"
    assert mac_only(False, {REQUIRE_MPS: "0"}) == "skip"


def test_the_nightly_mps_job_names_every_mac_only_test() -> None:
    nightly = Path(__file__).resolve().parents[1] / ".github" / "workflows" / "nightly.yml"
    text = nightly.read_text()
    assert f"{REQUIRE_MPS}: " in text
    for name in MAC_ONLY:
        assert f"tests/test_mps.py::{name}" in text, name
        assert callable(globals()[name])


@pytest.fixture
def apple_gpu() -> None:
    """A Mac-only test's gate (``mac_only``)."""
    outcome = mac_only(HAS_MPS, os.environ)
    if outcome == "fail":
        pytest.fail(f"{REQUIRE_MPS}=1, but {NO_MPS}")
    if outcome == "skip":
        pytest.skip(NO_MPS)


@pytest.mark.usefixtures("apple_gpu")
def test_the_real_mps_probes_on_a_mac() -> None:
    devices.initialize("mps")
    info = devices.memory_info("mps")
    assert 0 <= info.free_bytes <= info.total_bytes == torch.mps.recommended_max_memory()
    baseline = devices.start_device_memory("mps")
    assert baseline is not None
    cache = torch.zeros(2, 3, 4, device="mps")
    values = torch.ones(2, 3, 1, device="mps")
    cache[:, :, torch.tensor([2], device="mps")] = values  # the decoder's MPS write
    assert cache.cpu()[:, :, 2].eq(1).all() and cache.cpu().sum() == 6
    memory = devices.end_device_memory("mps", baseline)
    assert memory is not None and not memory.is_peak and memory.bytes >= baseline
    devices.set_mps_watermark(mps.TORCH_DEFAULT)  # the seed's engine (torch allows up to 2.0)
    devices.set_mps_watermark(mps.WHISPERBENCH)


def _short_clip_tokens(folder: Path, device: str) -> list[int]:
    """Ours' static greedy decoder on the short clip's one window, float32, on ``device``."""
    from transformers import WhisperForConditionalGeneration, WhisperProcessor

    extractor = WhisperProcessor.from_pretrained(folder).feature_extractor
    audio = load_clip(fixture_clip_path("short")).samples
    (window,) = quiet_windows(audio)
    features = log_mel(
        window_batch(torch.from_numpy(audio), [window], extractor.n_samples),
        extractor.mel_filters,
    )
    model: Any = WhisperForConditionalGeneration.from_pretrained(
        folder, attn_implementation="sdpa", dtype=torch.float32
    )
    model = model.to(device).eval()
    config = model.generation_config
    decoder = StaticGreedyDecoder(
        model,
        1,
        prompt_ids(config, None, None),
        MAX_NEW,
        DecodeRules.from_generation_config(config),
        slot_write=slot_write_for(device),
    )
    with torch.inference_mode():
        encoded = model.model.encoder(features.to(device)).last_hidden_state
        row: list[int] = decoder.decode(encoded).tolist()[0]
    return row


def test_the_token_check_decodes_the_reference_on_the_cpu(offline_hub_cache: Path) -> None:
    """The Mac-only token check's CPU half, run here: its tokens are the short clip word for
    word, so the check compares a real transcription."""
    from transformers import WhisperTokenizer

    folder = provide("tiny.en", "transformers", cache_dir=offline_hub_cache)
    text = WhisperTokenizer.from_pretrained(folder).decode(
        _short_clip_tokens(folder, "cpu"), skip_special_tokens=True
    )
    clip = load_clip(fixture_clip_path("short"))
    assert clip.reference is not None
    assert wer(clip.reference, text) == 0.0, text


@pytest.mark.usefixtures("apple_gpu")
def test_ours_decodes_the_cpus_tokens_on_mps(offline_hub_cache: Path) -> None:
    """The static decoder's step on MPS (one query, head dim 64, a broadcast boolean mask) takes
    the SDPA vector-kernel path that has had silent wrong-result bugs (pytorch#163597,
    #169222). In float32 every token of the short clip equals the CPU's; in float16, ours'
    default on MPS, the whole engine transcribes it word for word, as on the CPU."""
    folder = provide("tiny.en", "transformers", cache_dir=offline_hub_cache)
    on_cpu = _short_clip_tokens(folder, "cpu")
    assert len(on_cpu) > 10
    assert _short_clip_tokens(folder, "mps") == on_cpu
    impl = create("transformers", ImplementationOptions(device="mps"))
    load_model(impl, "tiny.en", cache_dir=offline_hub_cache)
    try:
        clip = load_clip(fixture_clip_path("short"))
        assert clip.reference is not None
        result = impl.transcribe(clip.samples)
        assert impl.get_params()["dtype"] == "float16"
        assert wer(clip.reference, result.text) == 0.0, result.text
    finally:
        impl.cleanup()


class CudaOnly(TransformersPipeline):
    """A real engine that declares CUDA alone, as faster-whisper declares no MPS."""

    name = "cuda-only"
    supported_devices = ("cuda",)


def test_an_engine_that_does_not_run_on_the_device_skips_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``pytest benchmarks/ --device mps`` skips faster-whisper's cases (CTranslate2 has no
    MPS) instead of failing ``test_load``; shown here with the CPU, the device this machine
    has, and an engine that runs on CUDA alone. ``--device auto`` on a Mac still runs
    faster-whisper, on the CPU."""
    reason = FasterWhisper.unsupported_device_reason("mps")
    assert reason == (
        "faster-whisper does not run on mps; it supports cuda, cpu. Use --device with one of those."
    )
    assert ct2_device_request("auto", DevicePresence(cuda=False, mps=True)) == "cpu"
    assert FasterWhisper.device_request("mps") == "mps"
    monkeypatch.setitem(REGISTERED, "cuda-only", f"{__name__}:CudaOnly")
    config = SuiteConfig(
        models=("tiny.en",),
        implementations=("cuda-only",),
        clips=(),
        options=ImplementationOptions(device="cpu"),
    )
    pool = ModelPool(config, notify=print)
    with pytest.raises(Skip, match=r"cuda-only does not run on cpu; it supports cuda\."):
        pool.prepare("cuda-only", "tiny.en")
