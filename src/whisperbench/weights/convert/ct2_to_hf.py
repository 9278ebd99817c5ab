"""Convert CTranslate2 Whisper models to Hugging Face transformers folders.

``convert_ct2_to_transformers`` turns a faster-whisper folder (``model.bin``, ``config.json``,
``tokenizer.json``) into a folder that ``transformers`` loads as an ``openai/whisper-*`` download.

The weights are written as **float32**, like the ``openai/whisper-*`` repositories: a plain
``from_pretrained`` then gives the same dtype as a real download, and widening the fp16 that
CTranslate2 stores is exact. The encoder's sinusoidal positions are regenerated in float32; the
zero key biases that CTranslate2 stores are dropped (a key bias shifts every score of a query
by the same amount, so softmax ignores it); ``proj_out`` is tied to the token embeddings.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from whisperbench.errors import ModelImportError
from whisperbench.weights.atomic import building
from whisperbench.weights.convert import Conversion
from whisperbench.weights.ct2_model import CT2Model, read_ct2_model

__all__ = ["CONVERSION", "convert_ct2_to_transformers", "write_transformers"]

CT2_REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json")
MULTILINGUAL_MIN_VOCAB = 51865
SAMPLING_RATE = 16000
CHUNK_LENGTH_S = 30
HOP_LENGTH = 160
N_FFT = 400
_TIMESTAMP_COUNT = 1501  # <|0.00|> ... <|30.00|> in steps of 0.02 s


# --- weights -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Shape:
    d_model: int
    num_mel_bins: int
    encoder_layers: int
    decoder_layers: int
    encoder_heads: int
    decoder_heads: int
    encoder_ffn_dim: int
    decoder_ffn_dim: int
    vocab_size: int
    max_source_positions: int
    max_target_positions: int


def _count_layers(model: CT2Model, side: str) -> int:
    pattern = re.compile(rf"^{side}/layer_(\d+)/")
    indices = {int(m.group(1)) for name in model.variables if (m := pattern.match(name))}
    if not indices or indices != set(range(len(indices))):
        raise ModelImportError(
            f"model.bin has no complete {side} layer stack; is it a Whisper model?"
        )
    return len(indices)


def _shape(model: CT2Model) -> _Shape:
    conv1 = model["encoder/conv1/weight"]
    return _Shape(
        d_model=conv1.shape[0],
        num_mel_bins=conv1.shape[1],
        encoder_layers=_count_layers(model, "encoder"),
        decoder_layers=_count_layers(model, "decoder"),
        encoder_heads=model.scalar("encoder/num_heads"),
        decoder_heads=model.scalar("decoder/num_heads"),
        encoder_ffn_dim=model["encoder/layer_0/ffn/linear_0/weight"].shape[0],
        decoder_ffn_dim=model["decoder/layer_0/ffn/linear_0/weight"].shape[0],
        vocab_size=model["decoder/embeddings/weight"].shape[0],
        max_source_positions=model["encoder/position_encodings/encodings"].shape[0],
        max_target_positions=model["decoder/position_encodings/encodings"].shape[0],
    )


def _sinusoids(length: int, channels: int, max_timescale: float = 10000.0) -> np.ndarray:
    increment = np.log(max_timescale) / (channels // 2 - 1)
    inv_timescales = np.exp(-increment * np.arange(channels // 2, dtype=np.float64))
    scaled = np.arange(length, dtype=np.float64)[:, None] * inv_timescales[None, :]
    return np.concatenate([np.sin(scaled), np.cos(scaled)], axis=1).astype(np.float32)


def _f32(array: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(array, dtype=np.float32)


def _state_dict(model: CT2Model, shape: _Shape) -> dict[str, np.ndarray]:
    sd: dict[str, np.ndarray] = {}

    def linear(key: str, name: str, bias: bool = True) -> None:
        sd[f"{key}.weight"] = _f32(model[f"{name}/weight"])
        if bias:
            sd[f"{key}.bias"] = _f32(model[f"{name}/bias"])

    def norm(key: str, name: str) -> None:
        sd[f"{key}.weight"] = _f32(model[f"{name}/gamma"])
        sd[f"{key}.bias"] = _f32(model[f"{name}/beta"])

    def fused(key: str, name: str, parts: tuple[str, ...]) -> None:
        weights = np.split(model[f"{name}/weight"], len(parts))
        biases = np.split(model[f"{name}/bias"], len(parts))
        for part, weight, bias in zip(parts, weights, biases, strict=True):
            sd[f"{key}.{part}.weight"] = _f32(weight)
            if part != "k_proj":  # transformers has no key bias; CTranslate2 stores zeros
                sd[f"{key}.{part}.bias"] = _f32(bias)

    for side, count in (("encoder", shape.encoder_layers), ("decoder", shape.decoder_layers)):
        for i in range(count):
            key, name = f"model.{side}.layers.{i}", f"{side}/layer_{i}"
            fused(
                f"{key}.self_attn",
                f"{name}/self_attention/linear_0",
                ("q_proj", "k_proj", "v_proj"),
            )
            linear(f"{key}.self_attn.out_proj", f"{name}/self_attention/linear_1")
            norm(f"{key}.self_attn_layer_norm", f"{name}/self_attention/layer_norm")
            if side == "decoder":
                linear(f"{key}.encoder_attn.q_proj", f"{name}/attention/linear_0")
                fused(f"{key}.encoder_attn", f"{name}/attention/linear_1", ("k_proj", "v_proj"))
                linear(f"{key}.encoder_attn.out_proj", f"{name}/attention/linear_2")
                norm(f"{key}.encoder_attn_layer_norm", f"{name}/attention/layer_norm")
            linear(f"{key}.fc1", f"{name}/ffn/linear_0")
            linear(f"{key}.fc2", f"{name}/ffn/linear_1")
            norm(f"{key}.final_layer_norm", f"{name}/ffn/layer_norm")
        norm(f"model.{side}.layer_norm", f"{side}/layer_norm")
    linear("model.encoder.conv1", "encoder/conv1")
    linear("model.encoder.conv2", "encoder/conv2")
    stored = _f32(model["encoder/position_encodings/encodings"])
    regenerated = _sinusoids(shape.max_source_positions, shape.d_model)
    # Keep the stored table if it is not Whisper's sinusoids (fp16 storage differs by < 1e-3).
    exact = float(np.max(np.abs(stored - regenerated))) < 1e-2
    sd["model.encoder.embed_positions.weight"] = regenerated if exact else stored
    sd["model.decoder.embed_positions.weight"] = _f32(model["decoder/position_encodings/encodings"])
    sd["model.decoder.embed_tokens.weight"] = _f32(model["decoder/embeddings/weight"])
    return sd


# --- configuration and tokenizer files ---------------------------------------------------


@dataclass(frozen=True)
class _Tokens:
    eot: int
    sot: int
    translate: int
    transcribe: int
    start_of_lm: int
    start_of_prev: int
    no_speech: int
    no_timestamps: int
    languages: dict[str, int]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelImportError(
            f"{path} is missing; a CTranslate2 Whisper folder needs it"
        ) from None
    except (OSError, ValueError) as exc:
        raise ModelImportError(f"{path} is not valid JSON ({exc}); copy the file again") from exc


def _tokens(tokenizer: dict[str, Any], lang_ids: list[int] | None) -> _Tokens:
    added = {token["content"]: int(token["id"]) for token in tokenizer.get("added_tokens", [])}

    def need(content: str) -> int:
        if content not in added:
            raise ModelImportError(
                f"tokenizer.json has no {content} token; it is not a Whisper tokenizer"
            )
        return added[content]

    no_speech = added.get("<|nospeech|>", added.get("<|nocaptions|>"))
    if no_speech is None:
        raise ModelImportError("tokenizer.json has neither <|nospeech|> nor <|nocaptions|>")
    sot, translate = need("<|startoftranscript|>"), need("<|translate|>")
    wanted = set(lang_ids) if lang_ids else set(range(sot + 1, translate))
    languages = {
        content: token_id
        for content, token_id in added.items()
        if token_id in wanted and re.fullmatch(r"<\|[a-z_-]+\|>", content)
    }
    return _Tokens(
        eot=need("<|endoftext|>"),
        sot=sot,
        translate=translate,
        transcribe=need("<|transcribe|>"),
        start_of_lm=need("<|startoflm|>"),
        start_of_prev=need("<|startofprev|>"),
        no_speech=no_speech,
        no_timestamps=need("<|notimestamps|>"),
        languages=dict(sorted(languages.items(), key=lambda item: item[1])),
    )


def _model_config(shape: _Shape, tokens: _Tokens, ct2: dict[str, Any]) -> dict[str, Any]:
    return {
        "activation_dropout": 0.0,
        "activation_function": "gelu",
        "apply_spec_augment": False,
        "architectures": ["WhisperForConditionalGeneration"],
        "attention_dropout": 0.0,
        "begin_suppress_tokens": list(ct2.get("suppress_ids_begin", [220, tokens.eot])),
        "bos_token_id": tokens.eot,
        "classifier_proj_size": 256,
        "d_model": shape.d_model,
        "decoder_attention_heads": shape.decoder_heads,
        "decoder_ffn_dim": shape.decoder_ffn_dim,
        "decoder_layerdrop": 0.0,
        "decoder_layers": shape.decoder_layers,
        "decoder_start_token_id": tokens.sot,
        "dropout": 0.0,
        "encoder_attention_heads": shape.encoder_heads,
        "encoder_ffn_dim": shape.encoder_ffn_dim,
        "encoder_layerdrop": 0.0,
        "encoder_layers": shape.encoder_layers,
        "eos_token_id": tokens.eot,
        "init_std": 0.02,
        "is_encoder_decoder": True,
        "max_source_positions": shape.max_source_positions,
        "max_target_positions": shape.max_target_positions,
        "median_filter_width": 7,
        "model_type": "whisper",
        "num_hidden_layers": shape.encoder_layers,
        "num_mel_bins": shape.num_mel_bins,
        "pad_token_id": tokens.eot,
        "scale_embedding": False,
        "suppress_tokens": list(ct2.get("suppress_ids", [])),
        "tie_word_embeddings": True,
        "torch_dtype": "float32",
        "use_cache": True,
        "use_weighted_layer_sum": False,
        "vocab_size": shape.vocab_size,
    }


def _generation_config(shape: _Shape, tokens: _Tokens, ct2: dict[str, Any]) -> dict[str, Any]:
    multilingual = shape.vocab_size >= MULTILINGUAL_MIN_VOCAB
    config: dict[str, Any] = {
        "alignment_heads": [list(pair) for pair in ct2.get("alignment_heads", [])],
        "begin_suppress_tokens": list(ct2.get("suppress_ids_begin", [220, tokens.eot])),
        "bos_token_id": tokens.eot,
        "decoder_start_token_id": tokens.sot,
        "eos_token_id": tokens.eot,
        "forced_decoder_ids": (
            [[1, None], [2, tokens.transcribe]] if multilingual else [[1, tokens.no_timestamps]]
        ),
        "is_multilingual": multilingual,
        "max_initial_timestamp_index": 50,
        "max_length": shape.max_target_positions,
        "no_timestamps_token_id": tokens.no_timestamps,
        "pad_token_id": tokens.eot,
        "prev_sot_token_id": tokens.start_of_prev,
        "return_timestamps": False,
        "suppress_tokens": list(ct2.get("suppress_ids", [])),
    }
    if multilingual:
        config["lang_to_id"] = tokens.languages
        config["task_to_id"] = {"transcribe": tokens.transcribe, "translate": tokens.translate}
    return dict(sorted(config.items()))


def _preprocessor_config(shape: _Shape) -> dict[str, Any]:
    return {
        "chunk_length": CHUNK_LENGTH_S,
        "feature_extractor_type": "WhisperFeatureExtractor",
        "feature_size": shape.num_mel_bins,
        "hop_length": HOP_LENGTH,
        "n_fft": N_FFT,
        "n_samples": CHUNK_LENGTH_S * SAMPLING_RATE,
        "nb_max_frames": CHUNK_LENGTH_S * SAMPLING_RATE // HOP_LENGTH,
        "padding_side": "right",
        "padding_value": 0.0,
        "processor_class": "WhisperProcessor",
        "return_attention_mask": False,
        "sampling_rate": SAMPLING_RATE,
    }


def _added_token(token_id: int, content: str, special: bool) -> dict[str, Any]:
    return {
        "id": token_id,
        "content": content,
        "single_word": False,
        "lstrip": False,
        "rstrip": False,
        "normalized": not special,
        "special": special,
    }


def _with_timestamps(tokenizer: dict[str, Any], vocab_size: int) -> dict[str, Any]:
    """Add ``<|0.00|>`` ... ``<|30.00|>`` (as the openai repos do) when the vocabulary has room."""
    added = tokenizer.get("added_tokens", [])
    first = max([int(t["id"]) for t in added], default=-1) + 1
    if vocab_size - first != _TIMESTAMP_COUNT:
        return tokenizer
    stamps = [
        _added_token(first + i, f"<|{i * 0.02:.2f}|>", False) for i in range(_TIMESTAMP_COUNT)
    ]
    return {**tokenizer, "added_tokens": [*added, *stamps]}


def _tokenizer_files(tokenizer: dict[str, Any]) -> dict[str, str]:
    """tokenizer.json plus the files of the slow tokenizer and the configs around them."""
    added = tokenizer["added_tokens"]
    specials = [t["content"] for t in added if t.get("special")]
    eot = "<|endoftext|>"
    model = tokenizer["model"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]
    decoder = {
        str(t["id"]): {
            k: t[k] for k in ("content", "lstrip", "normalized", "rstrip", "single_word", "special")
        }
        for t in added
    }
    config = {
        "add_bos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": decoder,
        "additional_special_tokens": specials,
        "bos_token": eot,
        "clean_up_tokenization_spaces": True,
        "eos_token": eot,
        "errors": "replace",
        "model_max_length": 1024,
        "pad_token": eot,
        "processor_class": "WhisperProcessor",
        "return_attention_mask": False,
        "tokenizer_class": "WhisperTokenizer",
        "unk_token": eot,
    }
    token_map = {
        "content": eot,
        "lstrip": False,
        "normalized": False,
        "rstrip": False,
        "single_word": False,
    }
    special_map = {
        "additional_special_tokens": specials,
        **{key: token_map for key in ("bos_token", "eos_token", "pad_token", "unk_token")},
    }
    return {
        "tokenizer.json": _dumps(tokenizer),
        "tokenizer_config.json": _dumps(config),
        "special_tokens_map.json": _dumps(special_map),
        "added_tokens.json": _dumps({t["content"]: t["id"] for t in added}),
        "vocab.json": json.dumps(model["vocab"], ensure_ascii=False),
        "merges.txt": "#version: 0.2\n" + "\n".join(merges) + "\n",
    }


def _dumps(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


# --- the conversion ----------------------------------------------------------------------


def _check_source(src_dir: Path) -> None:
    if not src_dir.is_dir():
        raise ModelImportError(
            f"{src_dir} is not a folder; pass a CTranslate2 Whisper model folder"
        )
    missing = [name for name in CT2_REQUIRED_FILES if not (src_dir / name).is_file()]
    if missing:
        raise ModelImportError(
            f"{src_dir} is not a complete CTranslate2 Whisper folder: {', '.join(missing)} "
            f"missing. A faster-whisper model folder has {', '.join(CT2_REQUIRED_FILES)}."
        )


def _write_folder(out_dir: Path, files: dict[str, str], tensors: dict[str, np.ndarray]) -> None:
    from safetensors.numpy import save_file

    out_dir.mkdir(parents=True)
    for name, text in files.items():
        (out_dir / name).write_text(text, encoding="utf-8")
    weights = out_dir / "model.safetensors"
    save_file(dict(sorted(tensors.items())), str(weights), metadata={"format": "pt"})
    weights.chmod((out_dir / "config.json").stat().st_mode & 0o777)  # the umask, not 0600


def write_transformers(src_dir: Path, out_dir: Path) -> None:
    """Write the transformers folder for the CTranslate2 folder ``src_dir`` at ``out_dir``,
    which must not exist yet (``convert_once`` and ``convert_ct2_to_transformers`` give a
    temporary one and rename it into place)."""
    src_dir = Path(src_dir)
    _check_source(src_dir)
    model = read_ct2_model(src_dir / "model.bin")
    if model.spec_name != "WhisperSpec":
        raise ModelImportError(
            f"{src_dir / 'model.bin'} holds a CTranslate2 {model.spec_name!r}, not a Whisper model"
        )
    ct2_config = _read_json(src_dir / "config.json")
    tokenizer = _read_json(src_dir / "tokenizer.json")
    shape = _shape(model)
    tokens = _tokens(tokenizer, ct2_config.get("lang_ids"))
    files = {
        "config.json": _dumps(_model_config(shape, tokens, ct2_config)),
        "generation_config.json": _dumps(_generation_config(shape, tokens, ct2_config)),
        "preprocessor_config.json": _dumps(_preprocessor_config(shape)),
        **_tokenizer_files(_with_timestamps(tokenizer, shape.vocab_size)),
    }
    _write_folder(out_dir, files, _state_dict(model, shape))


CONVERSION = Conversion("ctranslate2", "transformers", write_transformers)


def convert_ct2_to_transformers(src_dir: Path, out_dir: Path, *, overwrite: bool = False) -> Path:
    """Write a transformers Whisper folder for the CTranslate2 folder ``src_dir`` to ``out_dir``.

    The folder is built next to ``out_dir`` and renamed into place, so an interrupted run leaves
    no half-written folder. An existing non-empty ``out_dir`` is replaced only with ``overwrite``.
    """
    src_dir, out_dir = Path(src_dir), Path(out_dir)
    _check_source(src_dir)
    if out_dir.exists() and any(out_dir.iterdir()) and not overwrite:
        raise ModelImportError(
            f"{out_dir} exists and is not empty; remove it or pass overwrite=True"
        )
    with building(out_dir, replace=True) as temp:
        write_transformers(src_dir, temp)
    return out_dir
