"""What a safetensors file's own header says about it, read at no cost: the first 8 bytes hold
the header's length (little-endian uint64), then a JSON header gives each tensor's
``data_offsets`` into the data that follows. The file must end exactly where the last tensor
ends, so a truncated copy or download shows without reading the tensors."""

from __future__ import annotations

import json
import struct
from pathlib import Path

__all__ = ["expected_size", "safetensors_problem"]

_MAX_HEADER_BYTES = 100 * 1024 * 1024
"""The safetensors format's own limit on the header (100 MB)."""


def expected_size(path: Path) -> int:
    """The size in bytes ``path`` must have by its header; ValueError when the header is not a
    safetensors header."""
    with Path(path).open("rb") as handle:
        head = handle.read(8)
        if len(head) < 8:
            raise ValueError(f"only {len(head)} bytes, shorter than the 8-byte header length")
        header_len = int(struct.unpack("<Q", head)[0])
        if header_len > _MAX_HEADER_BYTES:
            raise ValueError(f"header length {header_len} is not a safetensors header")
        raw = handle.read(header_len)
    if len(raw) < header_len:
        raise ValueError(f"the {header_len}-byte header is cut short at {8 + len(raw)} bytes")
    try:
        header = json.loads(raw)
        ends = [int(t["data_offsets"][1]) for k, t in header.items() if k != "__metadata__"]
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise ValueError(f"the header is not valid safetensors JSON ({exc})") from None
    return 8 + header_len + max(ends, default=0)


def safetensors_problem(path: Path) -> str | None:
    """Why the safetensors file ``path`` cannot be whole (None: its size matches its header):
    truncated, longer than its tensors, or no safetensors header at all."""
    try:
        size = Path(path).stat().st_size
        expected = expected_size(path)
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    except ValueError as exc:
        return f"is not a valid safetensors file: {exc}"
    if size < expected:
        return f"is truncated: {size} bytes, but its header says {expected}"
    if size > expected:
        return f"is corrupt: {size} bytes, {size - expected} more than its header says"
    return None
