"""Place a local model folder into a Hugging Face hub cache, exactly as a download would.

The layout is the hub's own: ``models--org--name/blobs/<hash>`` holds each file once,
``snapshots/<revision>/<file>`` are relative symlinks to the blobs and ``refs/main`` names the
revision. The revision is a deterministic 40-hex digest of the content, so importing the same
files twice gives the same snapshot and writes nothing new. Blobs are named like the hub's
(sha256 for large/LFS files, the git blob sha1 for small ones).

Everything is staged under ``<cache>/.locks/`` (which ``scan_cache_dir`` skips) and renamed into
place: blobs first, then the snapshot folder, then ``refs/main``. A crash leaves no half-written
snapshot, only unused blobs or a staging folder. A blob already in place is kept only when it
has the size of the file it stands for (a truncated one is replaced), and the ``.incomplete``
blobs an interrupted download left in the repo are removed, unless a running download holds
their lock: the repo then reads as whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from whisperbench.errors import ModelImportError
from whisperbench.models import MODELS
from whisperbench.weights.convert.ct2_to_hf import write_transformers
from whisperbench.weights.ct2_model import ct2_problem, is_ct2_folder
from whisperbench.weights.layout import check_cache_dir, repo_folder
from whisperbench.weights.partials import StalePartials, remove_stale_partials
from whisperbench.weights.safetensors_header import safetensors_problem

__all__ = [
    "ImportedModel",
    "content_revision",
    "import_model",
    "source_kind",
    "target_format",
]

_LFS_SUFFIXES = frozenset(
    {".bin", ".safetensors", ".pt", ".pth", ".ckpt", ".h5", ".msgpack", ".onnx", ".npz", ".model"}
)
_LFS_MIN_BYTES = 10 * 1024 * 1024
_CHUNK = 8 * 1024 * 1024
_REVISION_SALT = b"whisperbench-import-v1\n"


@dataclass(frozen=True)
class ImportedModel:
    """One imported snapshot: where it lives in the cache and how big it is."""

    repo_id: str
    revision: str
    snapshot_path: Path
    size_bytes: int
    partials: StalePartials = field(default_factory=StalePartials)
    """The ``.incomplete`` blobs of interrupted downloads that the import removed (or left to a
    download that holds their lock)."""


def target_format(repo_id: str) -> str:
    """The format the model map gives ``repo_id``; else ``ctranslate2`` for any
    ``*faster-whisper*`` repo and ``transformers`` for the rest."""
    for spec in MODELS.values():
        for weights_format, repo in spec.repos.items():
            if repo.lower() == repo_id.lower():
                return weights_format
    return "ctranslate2" if "faster-whisper" in repo_id.lower() else "transformers"


def _weight_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.safetensors")) + sorted(folder.glob("pytorch_model*.bin"))


def source_kind(folder: Path) -> str:
    """Which kind of model folder ``folder`` is; raises ``ModelImportError`` for anything else."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ModelImportError(f"{folder} is not a folder; pass the folder that holds the model")
    has_config = (folder / "config.json").is_file()
    if has_config and _weight_files(folder):
        return "transformers"
    if is_ct2_folder(folder):
        return "ctranslate2"
    present = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
    found = "it is empty" if not present else "it has " + ", ".join(present)
    raise ModelImportError(
        f"{folder} is not a model folder ({found}). "
        "Expected a transformers folder (config.json + *.safetensors or pytorch_model.bin) or a "
        "CTranslate2/faster-whisper folder (model.bin + config.json + tokenizer.json)."
    )


# --- checks ------------------------------------------------------------------------------


def _check_json(path: Path) -> None:
    try:
        json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelImportError(f"{path} is not valid JSON ({exc}); copy the file again") from exc


def _check_weights(path: Path, problem_of: Callable[[Path], str | None]) -> None:
    """The headers parse and the file is as long as its tensors say."""
    problem = problem_of(path)
    if problem is not None:
        raise ModelImportError(f"{path} {problem}; copy or download it again")


def _check_source(folder: Path, kind: str) -> None:
    _check_json(folder / "config.json")
    if kind == "transformers":
        for path in folder.glob("*.safetensors"):
            _check_weights(path, safetensors_problem)
    else:
        _check_weights(folder / "model.bin", ct2_problem)
        if not (folder / "tokenizer.json").is_file():
            raise ModelImportError(
                f"{folder} has no tokenizer.json; faster-whisper needs it next to model.bin"
            )


def _mismatch(folder: Path, repo_id: str) -> ModelImportError:
    return ModelImportError(
        f"{folder} is a transformers model folder but {repo_id} is a CTranslate2 (faster-whisper) "
        "repository. Import it under its openai/whisper-* repo id instead, or convert it first: "
        f"ct2-transformers-converter --model {folder} --output_dir OUT --copy_files "
        "tokenizer.json preprocessor_config.json, then import OUT."
    )


# --- hashing and placing files -----------------------------------------------------------


def _source_files(folder: Path) -> list[Path]:
    """Every regular file under ``folder``, skipping hidden entries and ``__pycache__``."""
    files = []
    for path in sorted(folder.rglob("*")):
        parts = path.relative_to(folder).parts
        if any(p.startswith(".") or p == "__pycache__" for p in parts) or not path.is_file():
            continue
        files.append(path)
    if not files:
        raise ModelImportError(f"{folder} holds no files to import")
    return files


def _blob_name(path: Path) -> str:
    """sha256 of the content for LFS-sized files, else the git blob sha1 (the hub's etags)."""
    size = path.stat().st_size
    lfs = path.suffix in _LFS_SUFFIXES or size >= _LFS_MIN_BYTES
    digest = hashlib.sha256() if lfs else hashlib.sha1(f"blob {size}\0".encode())
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _revision(manifest: dict[str, str]) -> str:
    digest = hashlib.sha1(_REVISION_SALT)
    for name, blob in sorted(manifest.items()):
        digest.update(f"{name}\0{blob}\n".encode())
    return digest.hexdigest()


def _manifest(folder: Path, files: list[Path]) -> dict[str, str]:
    return {path.relative_to(folder).as_posix(): _blob_name(path) for path in files}


def content_revision(folder: Path) -> str:
    """The revision ``import_model`` gives the files of ``folder`` as they are (a digest of
    their names and contents): the key of a conversion made from the folder before import."""
    folder = Path(folder)
    return _revision(_manifest(folder, _source_files(folder)))


def _place_blob(source: Path, blob: Path, staging: Path, move: bool) -> None:
    if blob.is_file() and blob.stat().st_size == source.stat().st_size:
        return
    blob.parent.mkdir(parents=True, exist_ok=True)
    temp = staging / f"blob-{uuid.uuid4().hex}"
    if move:
        os.replace(source, temp)
    else:
        shutil.copyfile(source, temp)
    os.replace(temp, blob)


def _snapshot_complete(snapshot: Path, manifest: dict[str, str]) -> bool:
    return all(
        (snapshot / name).is_symlink()
        and (snapshot / name).exists()
        and (snapshot / name).resolve().name == blob
        for name, blob in manifest.items()
    )


def _write_snapshot(repo_dir: Path, revision: str, manifest: dict[str, str], staging: Path) -> Path:
    snapshot = repo_dir / "snapshots" / revision
    if snapshot.is_dir() and _snapshot_complete(snapshot, manifest):
        return snapshot
    built = staging / "snapshot"
    for name, blob in manifest.items():
        link = built / name
        link.parent.mkdir(parents=True, exist_ok=True)
        depth = len(Path(name).parts) + 1  # up from snapshots/<rev>/<name> to the repo folder
        os.symlink(os.path.join(*([".."] * depth), "blobs", blob), link)
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    if snapshot.exists():  # incomplete leftover: swap it out
        old = staging / "old-snapshot"
        os.replace(snapshot, old)
    try:
        os.replace(built, snapshot)
    except OSError:  # another process placed the same snapshot first
        if not _snapshot_complete(snapshot, manifest):
            raise
    return snapshot


def _write_ref(repo_dir: Path, revision: str, staging: Path) -> None:
    ref = repo_dir / "refs" / "main"
    if ref.is_file() and ref.read_text().strip() == revision:
        return
    ref.parent.mkdir(parents=True, exist_ok=True)
    temp = staging / "ref"
    temp.write_text(revision)
    os.replace(temp, ref)


@contextmanager
def _staging(cache_dir: Path) -> Iterator[Path]:
    folder = cache_dir / ".locks" / "whisperbench-staging" / uuid.uuid4().hex
    folder.mkdir(parents=True)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        with suppress(OSError):
            folder.parent.rmdir()  # only when no other import is staging


def _place(folder: Path, repo_id: str, cache_dir: Path, staging: Path, move: bool) -> ImportedModel:
    files = _source_files(folder)
    manifest = _manifest(folder, files)
    repo_dir = repo_folder(cache_dir, repo_id)
    for path in files:
        _place_blob(
            path, repo_dir / "blobs" / manifest[path.relative_to(folder).as_posix()], staging, move
        )
    revision = _revision(manifest)
    snapshot = _write_snapshot(repo_dir, revision, manifest, staging)
    _write_ref(repo_dir, revision, staging)
    size = sum((repo_dir / "blobs" / blob).stat().st_size for blob in set(manifest.values()))
    return ImportedModel(
        repo_id, revision, snapshot, size, remove_stale_partials(cache_dir, repo_id)
    )


def import_model(source_dir: Path, repo_id: str, cache_dir: Path | None = None) -> ImportedModel:
    """Import ``source_dir`` into the hub cache as ``repo_id`` and return the snapshot's record.

    A CTranslate2 folder is converted to transformers format for a transformers repo
    (``openai/whisper-*``) and copied as it is for a CTranslate2 repo (``*faster-whisper*``).
    """
    source_dir = Path(source_dir)
    given = cache_dir
    cache_dir = check_cache_dir(cache_dir, write=True)
    kind = source_kind(source_dir)
    weights_format = target_format(repo_id)
    repo_folder(cache_dir, repo_id)  # validate the id before doing any work
    if kind == "transformers" and weights_format == "ctranslate2":
        raise _mismatch(source_dir, repo_id)
    _check_source(source_dir, kind)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        with _staging(cache_dir) as staging:
            if kind == "ctranslate2" and weights_format == "transformers":
                converted = staging / "converted"
                write_transformers(source_dir, converted)
                return _place(converted, repo_id, cache_dir, staging, move=True)
            return _place(source_dir, repo_id, cache_dir, staging, move=False)
    except OSError as exc:
        flag = "--cache-dir" if given is not None else "HF_HUB_CACHE"
        raise ModelImportError(
            f"cannot write {repo_id} into the cache folder {cache_dir}: "
            f"{exc.strerror or exc} ({exc.filename or cache_dir}); free some disk or choose "
            f"another folder with {flag}"
        ) from exc
