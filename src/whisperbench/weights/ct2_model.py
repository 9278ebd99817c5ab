"""Read a CTranslate2 Whisper ``model.bin`` (binary version 6, as written by
``ctranslate2.specs.model_spec``): every variable as a numpy array, the aliases and the spec.

Little-endian: the binary version, the spec name and revision, then each variable (name, rank,
dims, dtype id, byte count, raw bytes), then the aliases. A short or malformed file is named
with the byte where reading failed.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from whisperbench.errors import ModelImportError

__all__ = ["CT2_BINARY_VERSION", "CT2Model", "is_ct2_folder", "read_ct2_model"]

CT2_BINARY_VERSION = 6
_NUMPY_DTYPES: dict[int, str] = {0: "<f4", 1: "i1", 2: "<i2", 3: "<i4", 4: "<f2", 5: "<u2"}
_BFLOAT16 = 5


@dataclass(frozen=True)
class CT2Model:
    """The content of one ``model.bin``: float variables are dequantised to float32."""

    binary_version: int
    spec_name: str
    spec_revision: int
    variables: dict[str, np.ndarray]
    aliases: dict[str, str]

    def __getitem__(self, name: str) -> np.ndarray:
        seen: set[str] = set()
        while name in self.aliases and name not in seen:
            seen.add(name)
            name = self.aliases[name]
        try:
            return self.variables[name]
        except KeyError:
            raise ModelImportError(
                f"model.bin has no variable {name!r}; is it a CTranslate2 Whisper model "
                f"(spec {self.spec_name!r})? Re-convert it with ct2-transformers-converter."
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self.variables or name in self.aliases

    def scalar(self, name: str) -> int:
        return int(self[name].reshape(-1)[0])


class _Cursor:
    """Reads little-endian fields from a byte buffer, naming the file when it runs out."""

    def __init__(self, data: bytes, path: Path) -> None:
        self.data = data
        self.path = path
        self.offset = 0

    def take(self, count: int, what: str) -> memoryview:
        end = self.offset + count
        if count < 0 or end > len(self.data):
            raise ModelImportError(
                f"{self.path} is truncated or corrupt: reading {what} at byte {self.offset} needs "
                f"{count} bytes but the file has {len(self.data)}; copy or download it again"
            )
        view = memoryview(self.data)[self.offset : end]
        self.offset = end
        return view

    def unpack(self, fmt: str, what: str) -> int:
        size = struct.calcsize("<" + fmt)
        value: int = struct.unpack("<" + fmt, self.take(size, what))[0]
        return value

    def string(self, what: str) -> str:
        length = self.unpack("H", what)
        raw = bytes(self.take(length, what))
        if not raw.endswith(b"\0"):
            raise ModelImportError(
                f"{self.path} is corrupt: {what} at byte {self.offset} is malformed"
            )
        return raw[:-1].decode("utf-8", errors="replace")


def _array(cursor: _Cursor, name: str) -> np.ndarray:
    rank = cursor.unpack("B", f"the rank of {name}")
    shape = tuple(cursor.unpack("I", f"the shape of {name}") for _ in range(rank))
    type_id = cursor.unpack("B", f"the dtype of {name}")
    nbytes = cursor.unpack("I", f"the size of {name}")
    if type_id not in _NUMPY_DTYPES:
        raise ModelImportError(f"{cursor.path} is corrupt: {name} has unknown dtype id {type_id}")
    dtype = np.dtype(_NUMPY_DTYPES[type_id])
    if int(np.prod(shape, dtype=np.int64)) * dtype.itemsize != nbytes:
        raise ModelImportError(
            f"{cursor.path} is corrupt: {name} has shape {shape} but {nbytes} bytes of data"
        )
    values = np.frombuffer(cursor.take(nbytes, f"the data of {name}"), dtype=dtype).reshape(shape)
    if type_id == _BFLOAT16:
        return (values.astype(np.uint32) << 16).view(np.float32)
    return values


def _dequantize(variables: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``w = q / scale``: one scale per output row for int8, a single scale for int16."""
    out = dict(variables)
    for scale_name in [name for name in variables if name.endswith("_scale")]:
        name = scale_name[: -len("_scale")]
        if name not in out or out[name].dtype.kind != "i":
            continue
        scale = variables[scale_name].astype(np.float32)
        quantized = out[name].astype(np.float32)
        if scale.ndim:
            scale = scale.reshape((-1,) + (1,) * (quantized.ndim - 1))
        out[name] = quantized / scale
        del out[scale_name]
    return out


def read_ct2_model(path: Path, *, dequantize: bool = True) -> CT2Model:
    """Parse a CTranslate2 ``model.bin``; with ``dequantize``, int8/int16 weights become float32."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelImportError(f"cannot read {path}: {exc}") from exc
    cursor = _Cursor(data, path)
    version = cursor.unpack("I", "the binary version")
    if version != CT2_BINARY_VERSION:
        raise ModelImportError(
            f"{path} has CTranslate2 binary version {version}; this reader knows version "
            f"{CT2_BINARY_VERSION} (ctranslate2 >= 3). Re-convert the model with a current "
            "ct2-transformers-converter, or check that the file is a CTranslate2 model.bin."
        )
    spec_name = cursor.string("the spec name")
    spec_revision = cursor.unpack("I", "the spec revision")
    variables: dict[str, np.ndarray] = {}
    for index in range(cursor.unpack("I", "the variable count")):
        name = cursor.string(f"the name of variable {index}")
        variables[name] = _array(cursor, name)
    aliases: dict[str, str] = {}
    for index in range(cursor.unpack("I", "the alias count")):
        alias = cursor.string(f"alias {index}")
        aliases[alias] = cursor.string(f"the target of alias {alias}")
    if cursor.offset != len(data):
        raise ModelImportError(
            f"{path} is corrupt: {len(data) - cursor.offset} unexpected bytes after the aliases"
        )
    if dequantize:
        variables = _dequantize(variables)
    return CT2Model(version, spec_name, spec_revision, variables, aliases)


def is_ct2_folder(path: Path) -> bool:
    """A folder with ``model.bin`` and ``config.json``: the faster-whisper layout."""
    return (Path(path) / "model.bin").is_file() and (Path(path) / "config.json").is_file()
