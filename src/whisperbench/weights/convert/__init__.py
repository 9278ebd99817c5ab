"""Conversions between weight formats: one module per conversion, one shared way to run them.

A conversion module (``ct2_to_hf``; the lineup adds ``hf_to_openai``, ``hf_to_ggml``,
``hf_to_mlx``) exposes ``CONVERSION = Conversion(source_format, target_format, write)``, where
``write(source, out)`` reads the source snapshot folder and creates the folder ``out`` (which
does not exist yet) holding the target format. Nothing else: where the result goes, and that it
is whole, is ``convert_once``'s job.

``convert_once`` keeps each result in a whisperbench-owned folder keyed by the source snapshot's
repo and revision and by the converter's own source code::

    ~/.cache/whisperbench/converted/<target>/<models--org--name>/<revision>-<converter digest>/

It is written under a temporary name and renamed into place, so a half-written conversion is
never used, and a folder that exists is complete. A changed converter writes a new folder.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from whisperbench.weights.atomic import build_once
from whisperbench.weights.layout import repo_folder_name, whisperbench_cache_root

__all__ = ["MARKER", "Conversion", "convert_once", "converted_root", "load_conversion"]

MARKER = ".whisperbench-conversion.json"
"""Written last inside a conversion's folder: where it came from."""


@dataclass(frozen=True)
class Conversion:
    source_format: str
    target_format: str
    write: Callable[[Path, Path], None]
    uses: tuple[str, ...] = ()
    """Other modules the converter's output depends on (a shared name mapping), whose source
    counts in the digest too."""

    def digest(self) -> str:
        """12 hex digits of the converter module's source (and of the modules it ``uses``): a
        changed converter converts again."""
        sha = hashlib.sha1()
        for name in (self.write.__module__, *self.uses):
            sha.update(Path(sys.modules[name].__file__ or "").read_bytes())
        return sha.hexdigest()[:12]


def load_conversion(module: str) -> Conversion:
    """The ``CONVERSION`` of ``module`` (imported now: converters import heavy packages)."""
    conversion = getattr(importlib.import_module(module), "CONVERSION", None)
    if not isinstance(conversion, Conversion):
        raise TypeError(f"{module} declares no CONVERSION = Conversion(...)")
    return conversion


def converted_root() -> Path:
    """``~/.cache/whisperbench/converted`` (``$XDG_CACHE_HOME`` honoured)."""
    return whisperbench_cache_root() / "converted"


def conversion_folder(
    conversion: Conversion, source_repo: str, revision: str, root: Path | None = None
) -> Path:
    """Where ``convert_once`` keeps the conversion of ``source_repo`` at ``revision``."""
    return (
        (root or converted_root())
        / conversion.target_format
        / repo_folder_name(source_repo)
        / f"{revision}-{conversion.digest()}"
    )


def convert_once(
    conversion: Conversion,
    source: Path,
    *,
    source_repo: str,
    revision: str,
    root: Path | None = None,
) -> Path:
    """The folder of ``source`` (the snapshot of ``source_repo`` at ``revision``) converted by
    ``conversion``: converted now when it is not there yet, else reused as it is."""
    target = conversion_folder(conversion, source_repo, revision, root)

    def write(temp: Path) -> None:
        conversion.write(Path(source), temp)
        provenance = {
            "source_repo": source_repo,
            "revision": revision,
            "source_format": conversion.source_format,
            "target_format": conversion.target_format,
            "converter": conversion.write.__module__,
        }
        (temp / MARKER).write_text(json.dumps(provenance, indent=1))

    # A folder without the marker was not written whole here (renamed in whole, it would have
    # one): it is replaced.
    build_once(target, lambda folder: (folder / MARKER).is_file(), write)
    return target
