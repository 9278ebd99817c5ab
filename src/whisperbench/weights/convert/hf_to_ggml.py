"""transformers snapshot -> whisper.cpp ggml model file.

``write_ggml_model(source, out)`` writes ``out/ggml-model.bin`` in the layout that whisper.cpp's
own converters write (``models/convert-pt-to-ggml.py``, ``convert-h5-to-ggml.py``), all
little-endian:

1. the magic ``0x67676d6c`` ("ggml");
2. ten int32 dimensions, in openai-whisper's order (n_vocab, n_audio_ctx, n_audio_state,
   n_audio_head, n_audio_layer, n_text_ctx, n_text_state, n_text_head, n_text_layer, n_mels),
   then the int32 file type (1: float16);
3. the mel filter bank: int32 rows (mel bins) and columns (FFT bins), then float32 data. These
   are the snapshot's own filters (transformers' ``WhisperFeatureExtractor``, Slaney-style, the
   same as openai-whisper's ``assets/mel_filters.npz``);
4. the byte-level BPE vocabulary: an int32 count, then per token in id order an int32 length and
   its raw bytes (``vocab.json``'s strings mapped back through GPT-2's byte-to-unicode table).
   Only the ordinary tokens, below ``<|endoftext|>``: whisper.cpp numbers the special tokens
   itself from ``n_vocab``;
5. every tensor under openai-whisper's name (``openai_layout``): int32 number of dimensions,
   name length and type (0 float32, 1 float16), the dimensions innermost first, the name, then
   the data. Tensors of two or more dimensions are float16; biases, norms, the two positional
   embeddings and the conv biases (stored as (n, 1)) are float32, as whisper.cpp expects.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import BinaryIO

import numpy as np

from whisperbench.errors import ModelImportError
from whisperbench.weights.convert import Conversion, openai_layout
from whisperbench.weights.convert.openai_layout import read_openai_model
from whisperbench.weights.formats import GGML_FILE

__all__ = ["CONVERSION", "GGML_MAGIC", "write_ggml_model"]

GGML_MAGIC = 0x67676D6C
_FTYPE_F32, _FTYPE_F16 = 0, 1
_DIM_ORDER = (
    "n_vocab",
    "n_audio_ctx",
    "n_audio_state",
    "n_audio_head",
    "n_audio_layer",
    "n_text_ctx",
    "n_text_state",
    "n_text_head",
    "n_text_layer",
    "n_mels",
)
_CONV_BIASES = ("encoder.conv1.bias", "encoder.conv2.bias")
_FLOAT32_TENSORS = (*_CONV_BIASES, "encoder.positional_embedding", "decoder.positional_embedding")


def _byte_decoder() -> dict[str, int]:
    """GPT-2's reversible byte <-> printable-character table, read backwards."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    chars = list(printable)
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return {chr(char): byte for byte, char in zip(printable, chars, strict=True)}


def _vocabulary(source: Path, end_of_text: int) -> list[bytes]:
    """The ordinary tokens' bytes, ids 0 .. end_of_text - 1."""
    if (source / "vocab.json").is_file():
        vocab: dict[str, int] = json.loads((source / "vocab.json").read_text(encoding="utf-8"))
    else:
        tokenizer = json.loads((source / "tokenizer.json").read_text(encoding="utf-8"))
        vocab = tokenizer["model"]["vocab"]
    by_id = {index: token for token, index in vocab.items() if index < end_of_text}
    if sorted(by_id) != list(range(end_of_text)):
        raise ModelImportError(
            f"{source}: the vocabulary does not hold every id below <|endoftext|> ({end_of_text})"
        )
    decoder = _byte_decoder()
    return [bytes(decoder[char] for char in by_id[index]) for index in range(end_of_text)]


def _mel_filters(source: Path) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) float32, as the snapshot's feature extractor computes them."""
    from transformers import WhisperFeatureExtractor

    extractor = WhisperFeatureExtractor.from_pretrained(source)
    return np.ascontiguousarray(np.asarray(extractor.mel_filters, dtype=np.float32).T)


def _write_tensor(out: BinaryIO, name: str, data: np.ndarray) -> None:
    if name in _CONV_BIASES:
        data = data.reshape(data.shape[0], 1)
    float32 = data.ndim < 2 or name in _FLOAT32_TENSORS
    data = data.astype(np.float32 if float32 else np.float16)
    encoded = name.encode("utf-8")
    out.write(struct.pack("<iii", data.ndim, len(encoded), _FTYPE_F32 if float32 else _FTYPE_F16))
    out.write(struct.pack(f"<{data.ndim}i", *reversed(data.shape)))
    out.write(encoded)
    out.write(np.ascontiguousarray(data).astype(data.dtype.newbyteorder("<")).tobytes())


def write_ggml_model(source: Path, out: Path) -> None:
    """Create the folder ``out`` holding ``ggml-model.bin``, converted from the transformers
    snapshot folder ``source``."""
    model = read_openai_model(source)
    tokens = _vocabulary(source, int(model.config["eos_token_id"]))
    filters = _mel_filters(source)
    if filters.shape[0] != model.dims["n_mels"]:
        raise ModelImportError(
            f"{source}: the feature extractor has {filters.shape[0]} mel bins, the model "
            f"{model.dims['n_mels']}"
        )
    out.mkdir(parents=True)
    with (out / GGML_FILE).open("wb") as handle:
        handle.write(struct.pack("<i", GGML_MAGIC))
        handle.write(struct.pack("<10i", *(model.dims[key] for key in _DIM_ORDER)))
        handle.write(struct.pack("<i", _FTYPE_F16))
        handle.write(struct.pack("<ii", *filters.shape))
        handle.write(filters.astype("<f4").tobytes())
        handle.write(struct.pack("<i", len(tokens)))
        for token in tokens:
            handle.write(struct.pack("<i", len(token)))
            handle.write(token)
        for name, tensor in model.state_dict.items():
            _write_tensor(handle, name, tensor.float().numpy())


CONVERSION = Conversion("transformers", "ggml", write_ggml_model, uses=(openai_layout.__name__,))
