"""The size a safetensors file must have, from its own header: real files written by the
safetensors package, then cut short, padded, or not safetensors at all."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

from whisperbench.weights.safetensors_header import expected_size, safetensors_problem


def written(tmp_path: Path) -> Path:
    path = tmp_path / "model.safetensors"
    tensors = {"a": np.arange(1000, dtype=np.float32), "b": np.ones((3, 7), dtype=np.float16)}
    save_file(tensors, str(path), metadata={"format": "pt"})
    return path


def test_a_whole_file_has_the_size_its_header_says(tmp_path: Path) -> None:
    path = written(tmp_path)
    assert expected_size(path) == path.stat().st_size
    assert safetensors_problem(path) is None


def test_a_truncated_or_padded_file_is_named_with_both_sizes(tmp_path: Path) -> None:
    path = written(tmp_path)
    size = path.stat().st_size
    data = path.read_bytes()
    path.write_bytes(data[: size - 100])
    assert (
        safetensors_problem(path) == f"is truncated: {size - 100} bytes, but its header says {size}"
    )
    path.write_bytes(data + b"\0" * 5)
    assert safetensors_problem(path) == f"is corrupt: {size + 5} bytes, 5 more than its header says"


def test_what_is_not_safetensors_says_so(tmp_path: Path) -> None:
    path = tmp_path / "x.safetensors"
    path.write_bytes(b"\1\2\3")
    assert "shorter than the 8-byte header length" in str(safetensors_problem(path))
    path.write_bytes(b"<html>not a model, a login page</html>")
    assert "is not a valid safetensors file: header length" in str(safetensors_problem(path))
    header = b'{"a": {"dtype": "F32"}}'
    path.write_bytes(len(header).to_bytes(8, "little") + header)
    assert "the header is not valid safetensors JSON" in str(safetensors_problem(path))
    assert "cannot be read" in str(safetensors_problem(tmp_path / "missing.safetensors"))
