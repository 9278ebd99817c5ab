"""The seed's recipe (``insanely-fast-whisper``): its batch-size table on every row, its chunk
lengths, and, on real tiny.en and base on the CPU, the settings it reports and runs with, also
in a saved run of the suite."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.bench_runs import run_benchmarks
from test_transformers_impl import _loaded

from whisperbench import mps
from whisperbench.audio import AudioClip, fixture_clip_path, load_clip
from whisperbench.implementations import (
    WhisperImplementation,
    default_names,
    get_implementation,
)
from whisperbench.implementations.insanely_fast_whisper import (
    SEED_4BIT,
    InsanelyFastWhisper,
    language_code,
    seed_batch_size,
    seed_chunk_length_s,
    seed_quantization,
)
from whisperbench.implementations.transformers_pipeline import (
    TransformersPipeline,
    decide_quantization,
    four_bit_installed,
)
from whisperbench.scoring import wer

GB = 2**30
SHORT_WER_MAX = 0.25
"""tiny.en and base on the ~10 s reference clip through the recipe: measured 0.0."""


@pytest.mark.parametrize(
    ("available_gb", "batch"),
    [
        (64, 16),
        (32, 16),
        (31.9, 12),
        (16, 12),
        (15.9, 10),
        (8, 10),
        (7.9, 16),
        (4, 16),
        (3.9, 12),
        (0.5, 12),
    ],
)
def test_seed_batch_table_on_mps(available_gb: float, batch: int) -> None:
    """macOS/MPS rows: >=32 GB 16, >=16 GB 12, >=8 GB 10, >=4 GB 16, less 12 (sic: the seed
    gives 4-8 GB more than 8-32 GB)."""
    assert seed_batch_size("mps", int(available_gb * GB)) == batch


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize(
    ("available_gb", "batch"),
    [(64, 24), (16, 24), (15.9, 16), (8, 16), (7.9, 8), (0.5, 8)],
)
def test_seed_batch_table_elsewhere(device: str, available_gb: float, batch: int) -> None:
    """Every other row: >=16 GB 24, >=8 GB 16, less 8."""
    assert seed_batch_size(device, int(available_gb * GB)) == batch


def test_seed_chunks_are_20_s_on_mps_only() -> None:
    assert seed_chunk_length_s("mps") == 20
    assert seed_chunk_length_s("cpu") == seed_chunk_length_s("cuda") == 30


def test_the_seed_runs_under_torchs_mps_watermark_as_it_ran() -> None:
    """The session caps MPS allocations at 1.0 x the working set; the seed never did, so on a
    small Mac its batch of 16 (at 4-8 GB available) paged where the cap would fail it. Its
    engine loads and runs under torch's default (1.7, MPSAllocator.h) and says so; a ratio set
    in the environment wins, as torch reads it; off MPS there is none."""
    seed = InsanelyFastWhisper.allocator_watermark("mps", {})
    assert seed is not None and (seed.ratio, seed.set_by_whisperbench) == (1.7, True)
    assert seed.describe() == (
        "1.7 x recommended working set (torch's default, under which the seed ran)"
    )
    assert TransformersPipeline.allocator_watermark("mps", {}) == mps.WHISPERBENCH
    chosen = InsanelyFastWhisper.allocator_watermark("mps", {mps.WATERMARK_VARIABLE: "1.2"})
    assert chosen is not None and (chosen.ratio, chosen.set_by_whisperbench) == (1.2, False)
    assert InsanelyFastWhisper.allocator_watermark("cpu", {}) is None


def test_the_seed_skips_4bit_on_a_mac_as_it_did() -> None:
    """The seed asked for 4-bit everywhere and ran unquantised on Apple Silicon: that is the
    reason its recipe gives on MPS, not a lack of MPS kernels in bitsandbytes (0.50 has them).
    Elsewhere the seed's request goes through the usual decision."""
    on_mac = seed_quantization("4bit", "mps", True)
    assert on_mac.applied == "none" and on_mac.reason is not None
    assert on_mac.reason.startswith("4-bit requested, as the seed requests it, but not applied")
    assert "the seed ran unquantised on Apple Silicon" in on_mac.reason
    assert seed_quantization("4bit", "cuda", True).applied == "4bit"
    assert seed_quantization("4bit", "cpu", True) == decide_quantization("4bit", "cpu", True)
    assert seed_quantization("int8", "mps", True) == decide_quantization("int8", "mps", True)


def test_language_names_become_codes() -> None:
    assert language_code("english") == "en"
    assert language_code("French") == "fr"
    assert language_code(None) is None


def test_it_is_a_yardstick_that_runs_when_named() -> None:
    cls = get_implementation("insanely-fast-whisper")
    assert cls.yardstick and cls.weights_format == "transformers"
    assert "insanely-fast-whisper" not in default_names()
    assert set(cls.supported_devices) == {"cuda", "mps", "cpu"}


# -- real models ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def short_clip() -> AudioClip:
    return load_clip(fixture_clip_path("short"))


@pytest.fixture(scope="module")
def seed_tiny(offline_hub_cache: Path) -> Iterator[WhisperImplementation]:
    impl = _loaded("insanely-fast-whisper", offline_hub_cache)
    yield impl
    impl.cleanup()


@pytest.mark.slow
def test_tiny_en_runs_with_the_seeds_settings(
    seed_tiny: WhisperImplementation, short_clip: AudioClip
) -> None:
    assert short_clip.reference is not None
    result = seed_tiny.transcribe(short_clip.samples)
    assert result.language == "en"
    assert wer(short_clip.reference, result.text) <= SHORT_WER_MAX, result.text
    params = seed_tiny.get_params()
    assert params["implementation"] == "insanely-fast-whisper"
    assert (params["device"], params["dtype"], params["attention"]) == ("cpu", "float16", "sdpa")
    assert params["chunk_length_s"] == 30
    assert params["mps_watermark"] is None  # on the CPU
    assert params["return_timestamps"] is False and params["return_language"] is True
    assert params["batch_size"] == seed_batch_size("cpu", int(params["available_memory_gb"] * GB))
    assert params["batch_size_rule"].startswith("seed table (other rows)")
    # an English-only model: transformers refuses the seed's task, so none is sent, and said
    assert params["task"] is None and params["task_requested"] == "transcribe"
    assert "English-only" in params["task_note"]


@pytest.mark.slow
def test_4bit_is_requested_and_reported_as_it_ran(seed_tiny: WhisperImplementation) -> None:
    """The seed always asks for 4-bit; where bitsandbytes runs (CUDA, and the CPU with
    bitsandbytes and accelerate installed) the loaded layers are nf4, else the model runs in
    float16 and the note says why."""
    params = seed_tiny.get_params()
    assert params["quantization_requested"] == "4bit"
    decision = decide_quantization("4bit", "cpu", four_bit_installed())
    if decision.applied == "none":
        assert params["quantization"] == "none"
        assert params["quantization_note"] == decision.reason and "4-bit" in decision.reason
    else:
        assert params["quantization"].startswith("4bit (nf4, bitsandbytes ")
    assert seed_tiny.bits_and_bytes_options(seed_tiny.load_dtype()) == SEED_4BIT  # type: ignore[attr-defined]


@pytest.mark.heavy  # base in float16 on the CPU, 30 s: nightly (tiny.en's settings run in CI)
def test_multilingual_base_transcribes_with_the_seeds_task(
    offline_hub_cache: Path, short_clip: AudioClip
) -> None:
    impl = _loaded("insanely-fast-whisper", offline_hub_cache, "base", batch_size=2)
    try:
        assert short_clip.reference is not None
        result = impl.transcribe(short_clip.samples)
        assert result.language == "en"  # detected by the pipeline (return_language)
        assert wer(short_clip.reference, result.text) <= SHORT_WER_MAX, result.text
        params = impl.get_params()
        assert (params["task"], params["task_note"]) == ("transcribe", None)
        assert params["language"] == "en"  # what the pipeline detected, not the request (None)
        assert (params["batch_size"], params["batch_size_rule"]) == (2, "--batch-size")
    finally:
        impl.cleanup()


# a suite session in float16 on the CPU, 30 s: nightly (the engine's own tests run in CI)
@pytest.mark.heavy
def test_the_suite_saves_the_seeds_parameters(offline_hub_cache: Path, tmp_path: Path) -> None:
    """``pytest benchmarks/ --implementations insanely-fast-whisper --clips short --rounds 1
    --device cpu``: both cases pass, and the saved run holds the seed's settings."""
    storage = tmp_path / "runs"
    done = run_benchmarks(
        offline_hub_cache,
        "--implementations=insanely-fast-whisper",
        f"--benchmark-storage=file://{storage}",
        "--benchmark-autosave",
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    (path,) = storage.glob("*/*.json")
    run = json.loads(path.read_text(encoding="utf-8"))
    names = sorted(bench["name"] for bench in run["benchmarks"])
    assert names == [
        "test_load[insanely-fast-whisper-tiny.en]",
        "test_transcribe[insanely-fast-whisper-tiny.en-short]",
    ]
    for bench in run["benchmarks"]:
        params = bench["extra_info"]["params"]
        assert params["recipe"] == "mac-whisper-speedtest InsanelyFastWhisperImplementation"
        assert (params["chunk_length_s"], params["return_timestamps"]) == (30, False)
        assert params["dtype"] == "float16"
        assert params["quantization_requested"] == "4bit"
        assert params["batch_size"] in (8, 16, 24)
    infos = {bench["name"]: bench["extra_info"] for bench in run["benchmarks"]}
    assert infos[names[1]]["wer"] <= SHORT_WER_MAX
