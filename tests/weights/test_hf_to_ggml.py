"""transformers -> whisper.cpp ggml file, on the real bundled tiny.en and base.

The file is read back field by field (dimensions, mel filters, vocabulary, every tensor with
its type and shape) and compared with openai-whisper's own assets and the transformers
weights. whisper.cpp hides its logits (pywhispercpp exposes only the last one), so the model
itself is checked by its greedy tokens: on the first window of the short clip, whisper.cpp
decoding text-only must give exactly the transformers model's greedy tokens (seen: all 27 equal
for both sizes, although whisper.cpp computes its own log-mel and holds float16 matrices).
"""

from __future__ import annotations

import base64
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pytest
from helpers.conversion_inputs import first_window

from whisperbench.audio import fixture_clip_path, load_clip
from whisperbench.weights.convert.hf_to_ggml import GGML_MAGIC, write_ggml_model
from whisperbench.weights.convert.openai_layout import read_openai_model
from whisperbench.weights.formats import GGML_FILE

pytestmark = pytest.mark.slow
SIZES = ("tiny.en", "base")
FLOAT32, FLOAT16 = 0, 1


@dataclass
class GGMLFile:
    dims: list[int]
    ftype: int
    filters: np.ndarray
    tokens: list[bytes]
    tensors: dict[str, tuple[int, np.ndarray]]
    """name -> (type, data in PyTorch's dimension order)."""


def _ints(handle: BinaryIO, count: int) -> list[int]:
    return list(struct.unpack(f"<{count}i", handle.read(4 * count)))


def read_ggml(path: Path) -> GGMLFile:
    with path.open("rb") as handle:
        assert _ints(handle, 1) == [GGML_MAGIC]
        dims, (ftype,) = _ints(handle, 10), _ints(handle, 1)
        rows, cols = _ints(handle, 2)
        filters = np.frombuffer(handle.read(4 * rows * cols), "<f4").reshape(rows, cols)
        tokens = [handle.read(_ints(handle, 1)[0]) for _ in range(_ints(handle, 1)[0])]
        tensors = {}
        while header := handle.read(12):
            n_dims, name_length, kind = struct.unpack("<iii", header)
            shape = tuple(reversed(_ints(handle, n_dims)))
            name = handle.read(name_length).decode()
            dtype = "<f4" if kind == FLOAT32 else "<f2"
            count = int(np.prod(shape))
            data = np.frombuffer(handle.read(count * np.dtype(dtype).itemsize), dtype)
            tensors[name] = (kind, data.reshape(shape))
    return GGMLFile(dims, ftype, filters, tokens, tensors)


@pytest.fixture(scope="module")
def converted(
    offline_models: dict[tuple[str, str], object], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[Path, Path]]:
    """size -> (transformers snapshot, ggml file)."""
    out = tmp_path_factory.mktemp("ggml")
    files = {}
    for size in SIZES:
        snapshot = offline_models[(size, "transformers")].snapshot_path  # type: ignore[attr-defined]
        write_ggml_model(snapshot, out / size)
        files[size] = (snapshot, out / size / GGML_FILE)
    return files


@pytest.mark.parametrize("size", SIZES)
def test_the_file_holds_the_model(size: str, converted: dict[str, tuple[Path, Path]]) -> None:
    snapshot, path = converted[size]
    model = read_openai_model(snapshot)
    ggml = read_ggml(path)
    order = ["n_vocab", "n_audio_ctx", "n_audio_state", "n_audio_head", "n_audio_layer"]
    order += ["n_text_ctx", "n_text_state", "n_text_head", "n_text_layer", "n_mels"]
    assert ggml.dims == [model.dims[key] for key in order]
    assert ggml.ftype == FLOAT16
    assert set(ggml.tensors) == set(model.state_dict)
    for name, tensor in model.state_dict.items():
        kind, data = ggml.tensors[name]
        expected = tensor.float().numpy()
        if name in ("encoder.conv1.bias", "encoder.conv2.bias"):
            expected = expected[:, None]
        float32 = expected.ndim < 2 or name.endswith(("bias", "positional_embedding"))
        assert kind == (FLOAT32 if float32 else FLOAT16), name
        assert data.shape == expected.shape, name
        np.testing.assert_allclose(data, expected, rtol=1e-3, atol=1e-4 if float32 else 1e-3)


@pytest.mark.parametrize("size", SIZES)
def test_vocabulary_and_mel_filters_are_openai_whispers(
    size: str, converted: dict[str, tuple[Path, Path]]
) -> None:
    pytest.importorskip("whisper", reason="openai-whisper (its assets) is not installed")
    import whisper

    assets = Path(whisper.__file__).parent / "assets"
    ggml = read_ggml(converted[size][1])
    with np.load(assets / "mel_filters.npz") as filters:
        np.testing.assert_allclose(ggml.filters, filters["mel_80"], atol=1e-6)
    name = "gpt2" if size.endswith(".en") else "multilingual"
    ranks = {
        base64.b64decode(token): int(rank)
        for token, rank in (
            line.split() for line in (assets / f"{name}.tiktoken").read_bytes().splitlines() if line
        )
    }
    assert ggml.tokens == sorted(ranks, key=ranks.__getitem__)


@pytest.mark.parametrize("size", SIZES)
def test_whisper_cpp_gives_the_transformers_greedy_tokens(
    size: str, converted: dict[str, tuple[Path, Path]]
) -> None:
    pytest.importorskip("pywhispercpp", reason="pywhispercpp is not installed")
    import _pywhispercpp as pw
    from pywhispercpp.model import Model

    snapshot, path = converted[size]
    model = Model(
        str(path),
        redirect_whispercpp_logs_to=None,
        n_threads=1,
        language="en",
        no_timestamps=True,
        single_segment=True,
        no_context=True,
        temperature_inc=0.0,
        greedy={"best_of": 1},
        print_progress=False,
    )
    model.transcribe(load_clip(fixture_clip_path("short")).samples)
    ctx, n_segments = model._ctx, pw.whisper_full_n_segments(model._ctx)
    eot = pw.whisper_token_eot(ctx)
    tokens = [
        pw.whisper_full_get_token_id(ctx, i, j)
        for i in range(n_segments)
        for j in range(pw.whisper_full_n_tokens(ctx, i))
    ]
    assert [token for token in tokens if token < eot] == first_window(snapshot).text_tokens


def test_a_vocabulary_with_a_gap_is_an_error(
    tmp_path: Path, converted: dict[str, tuple[Path, Path]]
) -> None:
    from whisperbench.errors import ModelImportError

    snapshot = converted["tiny.en"][0]
    broken = tmp_path / "snapshot"
    broken.mkdir()
    for item in snapshot.iterdir():
        (broken / item.name).symlink_to(item.resolve())
    vocab = json.loads((snapshot / "vocab.json").read_text(encoding="utf-8"))
    del vocab[next(iter(vocab))]
    (broken / "vocab.json").unlink()
    (broken / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    with pytest.raises(ModelImportError, match="every id below"):
        write_ggml_model(broken, tmp_path / "out")
    assert not (tmp_path / "out").exists()
