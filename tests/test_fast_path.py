"""The fast transformers path against transformers itself: the same greedy text tokens as
``generate`` on quiet-cut windows, per-window token limits (real tiny.en, CPU); plus the int8
option and a multilingual model."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import torch
from transformers import WhisperForConditionalGeneration, WhisperProcessor

from whisperbench.audio import fixture_clip_path, load_clip
from whisperbench.implementations import ImplementationOptions, create
from whisperbench.implementations.compiled import CompiledOrAsWritten
from whisperbench.implementations.greedy import (
    DecodeRules,
    SlotWrite,
    StaticGreedyDecoder,
    can_compile_step,
    fused_qkv,
    prompt_ids,
    share_qkv_storage,
)
from whisperbench.implementations.transformers_pipeline import INT8_SCOPE, max_new_tokens_for
from whisperbench.implementations.windows import log_mel, quiet_windows, window_batch
from whisperbench.scoring import wer
from whisperbench.suite.pool import load_model
from whisperbench.weights import provide

pytestmark = pytest.mark.slow
MAX_NEW = 210


@pytest.fixture(scope="module")
def tiny_folder(offline_hub_cache: Path) -> Path:
    return provide("tiny.en", "transformers", cache_dir=offline_hub_cache)


@pytest.fixture(scope="module")
def processor(tiny_folder: Path) -> Any:
    return WhisperProcessor.from_pretrained(tiny_folder)


@pytest.fixture(scope="module")
def model(tiny_folder: Path) -> Any:
    return WhisperForConditionalGeneration.from_pretrained(
        tiny_folder, attn_implementation="sdpa"
    ).eval()


@pytest.fixture(scope="module")
def medium_features(processor: Any) -> torch.Tensor:
    """The first two quiet-cut windows of the medium clip (56 s) as log-mel features."""
    audio = load_clip(fixture_clip_path("medium")).samples
    windows = quiet_windows(audio)[:2]
    assert len(windows) == 2
    extractor = processor.feature_extractor
    return log_mel(
        window_batch(torch.from_numpy(audio), windows, extractor.n_samples),
        extractor.mel_filters,
    )


def _decoder(
    model: Any, rows: int, slot_write: SlotWrite | None = None, compile_step: bool = False
) -> StaticGreedyDecoder:
    config = model.generation_config
    return StaticGreedyDecoder(
        model,
        rows,
        prompt_ids(config, None, None),
        MAX_NEW,
        DecodeRules.from_generation_config(config),
        slot_write=slot_write,
        compile_step=compile_step,
    )


def _text(row: list[int], eos: int) -> list[int]:
    return [t for t in row if t < eos]


@pytest.mark.parametrize("slot_write", ["index_copy", "index_put"])
def test_greedy_decoder_gives_generates_tokens(
    model: Any, medium_features: torch.Tensor, slot_write: SlotWrite
) -> None:
    """Every text token equal to ``generate``'s (greedy, ``<|notimestamps|>``), with either
    way of writing a step's column: ``index_copy`` (CPU, CUDA) and ``index_put`` (the MPS
    path, run here on the CPU)."""
    eos = model.generation_config.eos_token_id
    with torch.inference_mode():
        expected = model.generate(
            medium_features, return_timestamps=False, max_new_tokens=MAX_NEW, num_beams=1
        )
        encoded = model.model.encoder(medium_features).last_hidden_state
        decoder = _decoder(model, len(medium_features), slot_write)
        assert decoder.slot_write == slot_write
        ours = decoder.decode(encoded).tolist()
    for theirs_row, ours_row in zip(expected.tolist(), ours, strict=True):
        assert _text(ours_row, eos) == _text(theirs_row, eos)
        assert len(_text(ours_row, eos)) > 40


def test_each_row_stops_at_its_own_limit(model: Any, medium_features: torch.Tensor) -> None:
    """A row's limit cuts only that row, after exactly that many tokens."""
    eos = model.generation_config.eos_token_id
    decoder = _decoder(model, len(medium_features))
    with torch.inference_mode():
        encoded = model.model.encoder(medium_features).last_hidden_state
        free = decoder.decode(encoded).tolist()
        limited = decoder.decode(encoded, [5, MAX_NEW]).tolist()
    assert _text(limited[0], eos) == _text(free[0], eos)[:5]
    assert _text(limited[1], eos) == _text(free[1], eos)


@pytest.mark.heavy
def test_compiled_step_decodes_the_same_tokens(model: Any, medium_features: torch.Tensor) -> None:
    """The step fused by ``torch.compile`` (what runs on CUDA before the graph is captured)
    traces whole, with no graph break (``fullgraph``), and decodes the tokens of the step as
    written; compiled here by inductor for the CPU, on 40 tokens of each window, over the
    weights laid out as ours lays them out (the fused q/k/v weight aliases the model's)."""
    eos = model.generation_config.eos_token_id
    laid_out = copy.deepcopy(model)
    share_qkv_storage(laid_out)
    with torch.inference_mode():
        encoded = model.model.encoder(medium_features).last_hidden_state
        written = _decoder(model, len(medium_features)).decode(encoded, [40, 40]).tolist()
        compiled = _decoder(laid_out, len(medium_features), compile_step=True)
        fused = compiled.decode(encoded, [40, 40]).tolist()
    assert compiled.compiled is not None
    assert [_text(row, eos) for row in fused] == [_text(row, eos) for row in written]
    assert all(len(_text(row, eos)) == 40 for row in fused)


@pytest.mark.heavy
def test_the_compiled_encoder_gives_the_encoders_states(
    model: Any, medium_features: torch.Tensor
) -> None:
    """The encoder as ours compiles it where it compiles the step (``CompiledOrAsWritten``
    around the real tiny.en encoder) traces whole and gives the states of the encoder as
    written; compiled here by inductor for the CPU."""
    encoder = model.model.encoder
    compiled = CompiledOrAsWritten(
        lambda features: encoder(features).last_hidden_state, enabled=True
    )
    with torch.inference_mode():
        written = encoder(medium_features).last_hidden_state
        states = compiled(medium_features)
    assert compiled.error is None and compiled.enabled
    torch.testing.assert_close(states, written, rtol=1e-4, atol=1e-4)


def test_a_step_that_cannot_compile_runs_as_written_and_says_why(
    model: Any, medium_features: torch.Tensor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A machine without the compiler inductor needs (here: its C++ compiler named as one that
    does not exist) still decodes, as written, the same tokens, and keeps the reason."""
    from torch._inductor import config as inductor_config

    monkeypatch.setattr(inductor_config.cpp, "cxx", ("/nonexistent/c++",))
    torch.compiler.reset()  # not the code compiled for these shapes by the test before
    eos = model.generation_config.eos_token_id
    with torch.inference_mode():
        encoded = model.model.encoder(medium_features).last_hidden_state
        written = _decoder(model, len(medium_features)).decode(encoded, [20, 20]).tolist()
        failing = _decoder(model, len(medium_features), compile_step=True)
        decoded = failing.decode(encoded, [20, 20]).tolist()
    assert failing.compiled is None and not failing.compile_step
    assert failing.compile_error is not None and failing.compile_error.strip()
    assert [_text(row, eos) for row in decoded] == [_text(row, eos) for row in written]


def test_step_is_compiled_only_where_triton_writes_the_kernels() -> None:
    assert not can_compile_step("cpu")
    assert not can_compile_step("mps")


def test_token_budget_follows_window_length() -> None:
    assert max_new_tokens_for(30) == 210
    assert max_new_tokens_for(10) == 70
    assert max_new_tokens_for(0.5) == 16  # a word or two still fits


def test_int8_on_cpu_is_applied_reported_and_accurate(offline_hub_cache: Path) -> None:
    impl = create(
        "transformers",
        ImplementationOptions(device="cpu", quantization="int8"),
    )
    load_model(impl, "tiny.en", cache_dir=offline_hub_cache)
    clip = load_clip(fixture_clip_path("short"))
    assert clip.reference is not None
    assert wer(clip.reference, impl.transcribe(clip.samples).text) <= 0.25
    params = impl.get_params()
    assert params["quantization"] == INT8_SCOPE
    assert params["quantization_note"] is None
    impl.cleanup()


def test_multilingual_base_detects_english_once_and_transcribes(offline_hub_cache: Path) -> None:
    impl = create(
        "transformers",
        ImplementationOptions(device="cpu"),
    )
    load_model(impl, "base", cache_dir=offline_hub_cache)
    assert impl.get_params()["language"] is None  # nothing decoded yet, nothing forced
    clip = load_clip(fixture_clip_path("short"))
    assert clip.reference is not None
    result = impl.transcribe(clip.samples)
    assert result.language == "en"
    assert wer(clip.reference, result.text) <= 0.25
    params = impl.get_params()
    assert (params["task"], params["language"], params["decoder"]) == (
        "transcribe",
        "en",
        "static greedy",
    )
    assert impl.encode.enabled is False  # the encoder compiles only where the step does: CUDA
    impl.cleanup()


def test_the_fused_self_attention_projections_are_the_three_and_quantized_ones_stay_apart(
    model: Any,
) -> None:
    """One product of the fused weight gives the query, key and value of tiny.en's own
    projections (the key has no bias); int8 layers keep their modules (None)."""
    attn = model.model.decoder.layers[0].self_attn
    assert attn.k_proj.bias is None
    fused = fused_qkv(attn)
    assert fused is not None
    h = torch.randn(3, 1, model.config.d_model)
    with torch.inference_mode():
        q, k, v = torch.nn.functional.linear(h, *fused).chunk(3, dim=-1)
        for got, projection in ((q, attn.q_proj), (k, attn.k_proj), (v, attn.v_proj)):
            torch.testing.assert_close(got, projection(h), rtol=1e-5, atol=1e-5)
    quantized = torch.ao.quantization.quantize_dynamic(  # type: ignore[no-untyped-call]
        torch.nn.ModuleList([attn]), {torch.nn.Linear}, dtype=torch.qint8
    )
    assert fused_qkv(quantized[0]) is None


def test_ours_lays_the_projections_out_as_the_block_the_step_reads(
    offline_hub_cache: Path, model: Any
) -> None:
    """After ours' load each decoder layer's query, key and value weights are views of one
    block, the very weight the step's fused product reads (no copy beside the model's), with
    the values of the weights on disk; a second look finds them laid out already."""
    impl = create("transformers", ImplementationOptions(device="cpu"))
    load_model(impl, "tiny.en", cache_dir=offline_hub_cache)
    loaded = impl.pipe.model  # type: ignore[attr-defined]
    for ours, theirs in zip(loaded.model.decoder.layers, model.model.decoder.layers, strict=True):
        attn = ours.self_attn
        fused = fused_qkv(attn)
        assert fused is not None
        weight, bias = fused
        assert weight.data_ptr() == attn.q_proj.weight.data_ptr()
        for part, name in zip(weight.chunk(3), ("q_proj", "k_proj", "v_proj"), strict=True):
            assert part.data_ptr() == getattr(attn, name).weight.data_ptr()
            assert torch.equal(part, getattr(theirs.self_attn, name).weight)
        assert torch.equal(bias.chunk(3)[2], theirs.self_attn.v_proj.bias)
    share_qkv_storage(loaded)  # already laid out: nothing moves
    assert fused_qkv(loaded.model.decoder.layers[0].self_attn)[0].data_ptr() == (  # type: ignore[index]
        loaded.model.decoder.layers[0].self_attn.q_proj.weight.data_ptr()
    )
    clip = load_clip(fixture_clip_path("short"))
    assert clip.reference is not None
    assert wer(clip.reference, impl.transcribe(clip.samples).text) <= 0.25
    impl.cleanup()
