"""Read a CTranslate2 Whisper ``model.bin`` (binary version 6, as written by
``ctranslate2.specs.model_spec``): every variable as a numpy array, the aliases and the spec.

Little-endian: the binary version, the spec name and revision, then each variable (name, rank,
dims, dtype id, byte count, raw bytes), then the aliases. A short or malformed file is named
with the byte where reading failed. ``ct2_problem`` walks the same fields but seeks over the
tensors, so a truncated download shows at no cost (as ``safetensors_header`` does for
safetensors).
"""

from __future__ import annotations

import dataclasses
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from whisperbench.errors import ModelImportError

__all__ = ["CT2_BINARY_VERSION", "CT2Model", "ct2_problem", "is_ct2_folder", "read_ct2_model"]

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


class _Malformed(ValueError):
    """Where reading a ``model.bin`` failed (the message reads after the file's name)."""


class _Cursor:
    """Reads little-endian fields from an open file, and skips over data without reading it."""

    def __init__(self, handle: BinaryIO, size: int) -> None:
        self.handle = handle
        self.size = size
        self.offset = 0

    def _advance(self, count: int, what: str) -> int:
        start = self.offset
        if count < 0 or start + count > self.size:
            raise _Malformed(
                f"is truncated or corrupt: reading {what} at byte {start} needs {count} bytes "
                f"but the file has {self.size}"
            )
        self.offset = start + count
        return start

    def take(self, count: int, what: str) -> bytes:
        self._advance(count, what)
        return self.handle.read(count)

    def skip(self, count: int, what: str) -> None:
        self.handle.seek(self._advance(count, what) + count)

    def unpack(self, fmt: str, what: str) -> int:
        value: int = struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))[0]
        return value

    def string(self, what: str) -> str:
        raw = self.take(self.unpack("H", what), what)
        if not raw.endswith(b"\0"):
            raise _Malformed(f"is corrupt: {what} at byte {self.offset} is malformed")
        return raw[:-1].decode("utf-8", errors="replace")


def _array(cursor: _Cursor, name: str, *, load: bool) -> np.ndarray | None:
    """The next variable's values (None without ``load``: its data is skipped, not read)."""
    rank = cursor.unpack("B", f"the rank of {name}")
    shape = tuple(cursor.unpack("I", f"the shape of {name}") for _ in range(rank))
    type_id = cursor.unpack("B", f"the dtype of {name}")
    nbytes = cursor.unpack("I", f"the size of {name}")
    if type_id not in _NUMPY_DTYPES:
        raise _Malformed(f"is corrupt: {name} has unknown dtype id {type_id}")
    dtype = np.dtype(_NUMPY_DTYPES[type_id])
    if int(np.prod(shape, dtype=np.int64)) * dtype.itemsize != nbytes:
        raise _Malformed(f"is corrupt: {name} has shape {shape} but {nbytes} bytes of data")
    if not load:
        cursor.skip(nbytes, f"the data of {name}")
        return None
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


def _walk(path: Path, *, load: bool) -> CT2Model:
    """Read ``path`` through to its last byte; without ``load`` only the headers are read and
    ``variables`` stays empty. OSError and _Malformed say why it cannot be read."""
    with path.open("rb") as handle:
        cursor = _Cursor(handle, os.fstat(handle.fileno()).st_size)
        version = cursor.unpack("I", "the binary version")
        if version != CT2_BINARY_VERSION:
            raise _Malformed(
                f"has CTranslate2 binary version {version}; this reader knows version "
                f"{CT2_BINARY_VERSION} (ctranslate2 >= 3). Re-convert the model with a current "
                "ct2-transformers-converter, or check that the file is a CTranslate2 model.bin"
            )
        spec_name = cursor.string("the spec name")
        spec_revision = cursor.unpack("I", "the spec revision")
        variables: dict[str, np.ndarray] = {}
        for index in range(cursor.unpack("I", "the variable count")):
            name = cursor.string(f"the name of variable {index}")
            values = _array(cursor, name, load=load)
            if values is not None:
                variables[name] = values
        aliases: dict[str, str] = {}
        for index in range(cursor.unpack("I", "the alias count")):
            alias = cursor.string(f"alias {index}")
            aliases[alias] = cursor.string(f"the target of alias {alias}")
        if cursor.offset != cursor.size:
            raise _Malformed(
                f"is corrupt: {cursor.size - cursor.offset} unexpected bytes after the aliases"
            )
    return CT2Model(version, spec_name, spec_revision, variables, aliases)


def read_ct2_model(path: Path, *, dequantize: bool = True) -> CT2Model:
    """Parse a CTranslate2 ``model.bin``; with ``dequantize``, int8/int16 weights become float32."""
    path = Path(path)
    try:
        model = _walk(path, load=True)
    except OSError as exc:
        raise ModelImportError(f"cannot read {path}: {exc}") from exc
    except _Malformed as exc:
        raise ModelImportError(f"{path} {exc}; copy or download it again") from None
    if dequantize:
        model = dataclasses.replace(model, variables=_dequantize(model.variables))
    return model


def ct2_problem(path: Path) -> str | None:
    """Why the ``model.bin`` at ``path`` cannot be whole (None: it reads through to its last
    byte). Only the headers are read: the tensors' bytes are skipped over."""
    try:
        _walk(Path(path), load=False)
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    except _Malformed as exc:
        return str(exc)
    return None


def is_ct2_folder(path: Path) -> bool:
    """A folder with ``model.bin`` and ``config.json``: the faster-whisper layout."""
    return (Path(path) / "model.bin").is_file() and (Path(path) / "config.json").is_file()
