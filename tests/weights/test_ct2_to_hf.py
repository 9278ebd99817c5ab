"""The CTranslate2 reader and converter, on the real bundled tiny.en and base weights.

The converted transformers model must give the same greedy tokens as faster-whisper on the same
input. Both engines get openai's input: the log-mel of the clip alone, zero-padded to 30 s in the
mel domain (faster-whisper's ``pad_or_trim``; ``WhisperProcessor(padding="longest")`` and a pad).
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from whisperbench.errors import ModelImportError
from whisperbench.models import get_model
from whisperbench.scoring import wer
from whisperbench.weights.bundled import INSTALL_HINT, bundled_sizes, bundled_source
from whisperbench.weights.convert.ct2_to_hf import convert_ct2_to_transformers
from whisperbench.weights.ct2_model import ct2_problem, read_ct2_model

pytestmark = pytest.mark.slow
SIZES = ("tiny.en", "base")
AUDIO = (
    Path(__file__).resolve().parents[2] / "src" / "whisperbench" / "data" / "audio" / "short.flac"
)


def _needs(size: str) -> None:
    if size not in bundled_sizes():
        pytest.skip(f"the bundled {size} weights are not installed: {INSTALL_HINT}")


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """size -> (CTranslate2 folder, freshly converted transformers folder)."""
    out = tmp_path_factory.mktemp("converted")
    folders = {}
    for size in SIZES:
        if size in bundled_sizes():
            source = bundled_source(size)
            folders[size] = (source, convert_ct2_to_transformers(source, out / size))
    return folders


@pytest.fixture(scope="module")
def audio() -> np.ndarray:
    samples, rate = sf.read(AUDIO, dtype="float32")
    assert rate == 16000 and samples.ndim == 1
    return samples


# --- the reader ----------------------------------------------------------------------------


def test_reader_sees_the_tiny_en_variables() -> None:
    _needs("tiny.en")
    model = read_ct2_model(bundled_source("tiny.en") / "model.bin")
    assert (model.binary_version, model.spec_name, model.spec_revision) == (6, "WhisperSpec", 3)
    assert model.aliases == {"decoder/projection/weight": "decoder/embeddings/weight"}
    assert model["decoder/projection/weight"] is model["decoder/embeddings/weight"]
    assert model["encoder/conv1/weight"].shape == (384, 80, 3)
    assert model["encoder/conv1/weight"].dtype == np.float16
    assert model["decoder/embeddings/weight"].shape == (51864, 384)
    assert model["encoder/position_encodings/encodings"].shape == (1500, 384)
    assert model["decoder/position_encodings/encodings"].shape == (448, 384)
    assert model["encoder/layer_3/self_attention/linear_0/weight"].shape == (3 * 384, 384)
    assert model["decoder/layer_3/attention/linear_1/weight"].shape == (2 * 384, 384)
    assert model.scalar("encoder/num_heads") == model.scalar("decoder/num_heads") == 6
    layers = {name.split("/")[1] for name in model.variables if re.match(r"\w+/layer_\d", name)}
    assert layers == {f"layer_{i}" for i in range(4)}
    assert len(model.variables) == 148


def _write_ct2(path: Path, variables: dict[str, tuple[int, np.ndarray]]) -> None:
    """A model.bin in CTranslate2's own layout (binary version 6), for the dtype cases."""

    def string(text: str) -> bytes:
        raw = text.encode() + b"\0"
        return struct.pack("<H", len(raw)) + raw

    out = struct.pack("<I", 6) + string("WhisperSpec") + struct.pack("<II", 3, len(variables))
    for name, (type_id, value) in variables.items():
        data = value.tobytes()
        out += string(name) + struct.pack("<B", value.ndim)
        out += b"".join(struct.pack("<I", dim) for dim in value.shape)
        out += struct.pack("<BI", type_id, len(data)) + data
    path.write_bytes(out + struct.pack("<I", 0))


def test_reader_dequantises_int8_per_row_and_reads_bfloat16(tmp_path: Path) -> None:
    weight = np.array([[0.5, -1.0, 0.25], [2.0, 0.0, -4.0]], dtype=np.float32)
    scale = (127.0 / np.abs(weight).max(axis=1)).astype(np.float32)
    quantized = np.rint(weight * scale[:, None]).astype(np.int8)
    bf16 = (np.array([1.5, -2.0], dtype=np.float32).view(np.uint32) >> 16).astype(np.uint16)
    _write_ct2(
        tmp_path / "model.bin",
        {"w/weight": (1, quantized), "w/weight_scale": (0, scale), "b/bias": (5, bf16)},
    )
    model = read_ct2_model(tmp_path / "model.bin")
    assert set(model.variables) == {"w/weight", "b/bias"}
    np.testing.assert_allclose(model["w/weight"], weight, atol=0.02)
    assert model["w/weight"].dtype == np.float32
    np.testing.assert_array_equal(model["b/bias"], [1.5, -2.0])
    raw = read_ct2_model(tmp_path / "model.bin", dequantize=False)
    assert raw["w/weight"].dtype == np.int8 and "w/weight_scale" in raw


def test_reader_names_a_truncated_file(tmp_path: Path) -> None:
    _needs("tiny.en")
    whole = bundled_source("tiny.en") / "model.bin"
    assert ct2_problem(whole) is None
    with whole.open("rb") as handle:
        (tmp_path / "model.bin").write_bytes(handle.read(1_000_000))
    with pytest.raises(ModelImportError, match="truncated"):
        read_ct2_model(tmp_path / "model.bin")
    problem = ct2_problem(tmp_path / "model.bin")
    assert problem is not None and problem.startswith("is truncated or corrupt: reading ")
    assert problem.endswith("but the file has 1000000")


def test_headers_alone_find_extra_bytes_and_a_missing_file(tmp_path: Path) -> None:
    _write_ct2(tmp_path / "model.bin", {"b/bias": (0, np.ones(3, dtype=np.float32))})
    assert ct2_problem(tmp_path / "model.bin") is None
    with (tmp_path / "model.bin").open("ab") as handle:
        handle.write(b"junk")
    assert ct2_problem(tmp_path / "model.bin") == "is corrupt: 4 unexpected bytes after the aliases"
    assert str(ct2_problem(tmp_path / "gone.bin")).startswith("cannot be read (")


# --- the converted folder ------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_config_follows_the_weights_and_the_model_map(
    size: str, converted: dict[str, tuple[Path, Path]]
) -> None:
    _needs(size)
    from safetensors import safe_open
    from transformers import GenerationConfig, WhisperConfig, WhisperTokenizerFast

    folder = converted[size][1]
    arch = get_model(size).architecture
    config = WhisperConfig.from_pretrained(folder)
    assert (config.d_model, config.encoder_layers, config.decoder_layers) == (
        arch.d_model,
        arch.encoder_layers,
        arch.decoder_layers,
    )
    assert config.encoder_attention_heads == config.decoder_attention_heads == arch.attention_heads
    assert (config.num_mel_bins, config.vocab_size) == (arch.num_mel_bins, arch.vocab_size)
    assert config.encoder_ffn_dim == arch.ffn_dim
    tokenizer = WhisperTokenizerFast.from_pretrained(folder)
    assert len(tokenizer) == arch.vocab_size  # timestamp tokens included
    generation = GenerationConfig.from_pretrained(folder)
    no_ts = tokenizer.convert_tokens_to_ids("<|notimestamps|>")
    assert generation.no_timestamps_token_id == no_ts
    assert generation.decoder_start_token_id == tokenizer.convert_tokens_to_ids(
        "<|startoftranscript|>"
    )
    assert generation.is_multilingual == (not size.endswith(".en"))
    if generation.is_multilingual:
        assert generation.lang_to_id["<|en|>"] == tokenizer.convert_tokens_to_ids("<|en|>")
        assert len(generation.lang_to_id) == 99
        assert generation.task_to_id["transcribe"] == tokenizer.convert_tokens_to_ids(
            "<|transcribe|>"
        )
    ct2_config = json.loads((converted[size][0] / "config.json").read_text())
    assert generation.suppress_tokens == ct2_config["suppress_ids"]
    assert generation.alignment_heads == ct2_config["alignment_heads"]
    with safe_open(str(folder / "model.safetensors"), "np") as weights:
        keys = set(weights.keys())
        assert weights.get_tensor("model.encoder.conv1.weight").dtype == np.float32
        positions = weights.get_tensor("model.encoder.embed_positions.weight")
    assert not any(k.endswith("k_proj.bias") for k in keys)
    assert "proj_out.weight" not in keys
    assert positions.shape == (1500, arch.d_model)
    assert positions[1, 0] == np.float32(np.sin(1.0))


@pytest.mark.parametrize("size", SIZES)
def test_transformers_and_faster_whisper_give_the_same_greedy_transcript(
    size: str, converted: dict[str, tuple[Path, Path]], audio: np.ndarray
) -> None:
    _needs(size)
    import torch
    from faster_whisper import WhisperModel
    from transformers import WhisperForConditionalGeneration, WhisperProcessor

    ct2_dir, hf_dir = converted[size]
    engine = WhisperModel(str(ct2_dir), device="cpu", compute_type="float32", cpu_threads=1)
    segments, _info = engine.transcribe(
        audio,
        beam_size=1,
        temperature=0.0,
        without_timestamps=True,
        condition_on_previous_text=False,
    )
    segments = list(segments)
    fw_tokens = [token for segment in segments for token in segment.tokens]
    fw_text = "".join(segment.text for segment in segments).strip()

    processor = WhisperProcessor.from_pretrained(hf_dir)
    model = WhisperForConditionalGeneration.from_pretrained(hf_dir, dtype=torch.float32).eval()
    features = processor(
        audio, sampling_rate=16000, padding="longest", return_tensors="pt"
    ).input_features
    features = torch.nn.functional.pad(features, (0, 3000 - features.shape[-1]))
    task = {} if size.endswith(".en") else {"task": "transcribe", "language": "en"}
    with torch.inference_mode():
        ids = model.generate(features, num_beams=1, do_sample=False, **task)
    text_ids = [t for t in ids[0].tolist() if t < processor.tokenizer.eos_token_id]
    hf_text = processor.batch_decode(ids, skip_special_tokens=True)[0].strip()

    assert text_ids == fw_tokens
    assert hf_text == fw_text
    reference = AUDIO.with_suffix(".txt").read_text().strip()
    assert wer(reference, hf_text) < 0.25, hf_text


def test_pipeline_loads_the_converted_folder_and_reports_the_language(
    converted: dict[str, tuple[Path, Path]], audio: np.ndarray
) -> None:
    _needs("base")
    import torch
    from transformers import pipeline

    asr = pipeline(
        "automatic-speech-recognition", model=str(converted["base"][1]), dtype=torch.float32
    )
    # The pipeline's own default is 5 beams (as openai's); greedy keeps the test quick.
    result = asr(
        {"raw": audio.copy(), "sampling_rate": 16000},
        return_language=True,
        generate_kwargs={"num_beams": 1},
    )
    assert result["chunks"][0]["language"] == "english"
    reference = AUDIO.with_suffix(".txt").read_text().strip()
    assert wer(reference, result["text"]) < 0.25, result["text"]


# --- errors --------------------------------------------------------------------------------


def test_convert_names_missing_files(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "config.json").write_text("{}")
    with pytest.raises(ModelImportError, match=r"model\.bin, tokenizer\.json missing"):
        convert_ct2_to_transformers(tmp_path / "src", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_convert_keeps_a_non_empty_folder_unless_told(
    tmp_path: Path, converted: dict[str, tuple[Path, Path]]
) -> None:
    _needs("tiny.en")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(ModelImportError, match="overwrite=True"):
        convert_ct2_to_transformers(converted["tiny.en"][0], out)
    assert (out / "keep.txt").read_text() == "mine"
    convert_ct2_to_transformers(converted["tiny.en"][0], out, overwrite=True)
    assert not (out / "keep.txt").exists()
    assert (out / "model.safetensors").stat().st_size == (
        converted["tiny.en"][1] / "model.safetensors"
    ).stat().st_size
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporary folders left
