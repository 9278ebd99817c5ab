"""Is a model's snapshot in the Hugging Face cache, and whole? The one check, for check-models,
import and load alike: one ``WeightsStatus`` per (size, weight format).

Checks, in order, each ending the inspection when it fails:

1. the repo is in the cache at all (``missing`` otherwise);
2. no ``.incomplete`` blob is left from an interrupted download (``partials.partial_blobs``);
3. the snapshot that ``refs/main`` names holds every file the format needs
   (``formats.FORMATS``; a sharded index also needs its shards);
4. no snapshot symlink points at a blob that is gone;
5. every file of the snapshot is a regular file (a named pipe, a socket or a folder where a
   file belongs cannot be read: ``error``, with the fix);
6. every safetensors file, and a CTranslate2 ``model.bin``, is as long as its headers say (read
   at no cost: a truncated copy is ``incomplete``);
7. huggingface_hub itself can read the repo (``error`` otherwise).

A format converted from another (``converted_from``) is ready-made where its native repo
(``models.native_repo``: whisper.cpp's ggml files, mlx-community's MLX folders) is whole in the
cache; otherwise it has the status of its source snapshot, and points at the conversion once it
exists. Loading (``verify``) is a separate, later step. The
cache is scanned with ``huggingface_hub.scan_cache_dir``, once per ``inspect_many`` call.
"""

from __future__ import annotations

import dataclasses
import json
import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args

from huggingface_hub import CachedRepoInfo, HFCacheInfo, scan_cache_dir
from huggingface_hub.errors import CacheNotFound

from whisperbench.errors import WhisperBenchError
from whisperbench.models import get_model, native_repo
from whisperbench.weights.convert import MARKER, conversion_folder, load_conversion
from whisperbench.weights.ct2_model import ct2_problem
from whisperbench.weights.fixes import fix_command
from whisperbench.weights.formats import WeightFormat, get_format
from whisperbench.weights.layout import (
    read_main_ref,
    repo_folder,
    resolve_cache_dir,
    snapshot_folder,
)
from whisperbench.weights.partials import partial_blobs
from whisperbench.weights.safetensors_header import safetensors_problem

__all__ = [
    "STATUSES",
    "Status",
    "VerifyMethod",
    "WeightsRequest",
    "WeightsStatus",
    "inspect_many",
    "inspect_one",
    "native_snapshot",
    "status_counts",
]

Status = Literal["complete", "incomplete", "missing", "error", "timeout"]
VerifyMethod = Literal["load", "cache-only"]
STATUSES: tuple[Status, ...] = get_args(Status)
MB = 1_000_000
_Record = TypeVar("_Record", bound="WeightsStatus")


@dataclass(frozen=True)
class WeightsRequest:
    """The weights of one size in one format, and who needs them (named in the fix)."""

    size: str
    format: str
    needed_by: str | None = None
    """The implementation(s) the download fix names (``--implementations``); None: all."""


@dataclass
class WeightsStatus:
    """What the cache holds for one (size, format), and what to do about it."""

    status: Status
    model: str
    """The size, as the model map names it."""
    format: str
    repo_id: str | None
    revision: str | None
    size_on_disk: int
    """Bytes of the revision's blobs (each blob counted once)."""
    snapshot_path: str | None
    reason: str
    """Why it is not ready, in words a person can act on; for ``complete``, how it was checked."""
    fix: str | None = None
    """The command that brings the files (missing / incomplete)."""
    verify_method: VerifyMethod = "cache-only"
    limit_s: float | None = None
    """The load-time limit used (``verify_method="load"``)."""
    load_s: float | None = None

    @property
    def ready(self) -> bool:
        return self.status == "complete"

    @property
    def size_mb(self) -> float:
        return self.size_on_disk / MB

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls: type[_Record], data: dict[str, Any]) -> _Record:
        known = {f.name for f in fields(cls)}
        if data.get("status") not in STATUSES:
            raise ValueError(f"unknown status {data.get('status')!r}; expected one of {STATUSES}")
        return cls(**{key: value for key, value in data.items() if key in known})


@dataclass(frozen=True)
class _Scan:
    """One ``scan_cache_dir`` result, indexed by repo folder."""

    cache_dir: Path
    given: Path | None
    """The folder as the caller gave it (None: from the environment); fixes name it."""
    repos: dict[Path, CachedRepoInfo]
    incomplete: dict[Path, list[tuple[Path, int]]]
    warnings: list[str]
    error: str | None

    @classmethod
    def of(cls, given: Path | None) -> _Scan:
        cache_dir = resolve_cache_dir(given)
        try:
            info: HFCacheInfo = scan_cache_dir(cache_dir)
        except CacheNotFound:
            error = f"the cache folder {cache_dir} does not exist"
            return cls(cache_dir, given, {}, {}, [], error)
        except (OSError, ValueError) as exc:
            error = f"cannot scan the cache folder {cache_dir}: {exc}"
            return cls(cache_dir, given, {}, {}, [], error)
        return cls(
            cache_dir,
            given,
            {repo.repo_path: repo for repo in info.repos},
            partial_blobs(cache_dir),
            [str(warning) for warning in info.warnings],
            None,
        )


def _blob_bytes(snapshot: Path) -> int:
    """Bytes of the distinct blobs the snapshot's files point at (broken links count 0)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for path in snapshot.rglob("*"):
        try:
            st = path.stat()
        except OSError:
            continue
        if path.is_dir() or (st.st_dev, st.st_ino) in seen:
            continue
        seen.add((st.st_dev, st.st_ino))
        total += st.st_size
    return total


def _missing_required(snapshot: Path, weights_format: WeightFormat) -> list[str]:
    """Required entries the snapshot lacks, as ``a (or b, c)``; an index also needs its shards."""
    missing = []
    for entry in weights_format.required:
        options = entry.split("|")
        present = [name for name in options if os.path.lexists(snapshot / name)]
        if not present:
            missing.append(options[0] + (f" (or {', '.join(options[1:])})" if options[1:] else ""))
        elif present[0].endswith(".index.json"):
            missing.extend(_missing_shards(snapshot / present[0]))
    return missing


def _missing_shards(index: Path) -> list[str]:
    try:
        weight_map = json.loads(index.read_text()).get("weight_map", {})
    except (OSError, ValueError, AttributeError) as exc:
        return [f"{index.name} (unreadable: {exc})"]
    return sorted({s for s in weight_map.values() if not os.path.lexists(index.parent / s)})


def _broken_links(snapshot: Path) -> list[str]:
    return sorted(
        str(path.relative_to(snapshot))
        for path in snapshot.rglob("*")
        if path.is_symlink() and not path.exists()
    )


_SPECIAL_FILES = (
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISDIR, "a folder"),
)


def _not_regular(snapshot: Path, weights_format: WeightFormat) -> list[str]:
    """The snapshot's entries that are not regular files (links followed), with what they are;
    a folder counts only where a required file belongs."""
    required = {name for entry in weights_format.required for name in entry.split("|")}
    found = []
    for path in sorted(snapshot.rglob("*")):
        try:
            mode = path.stat().st_mode
        except OSError:  # a broken link: reported by its own check
            continue
        name = path.relative_to(snapshot).as_posix()
        if stat.S_ISREG(mode) or (stat.S_ISDIR(mode) and name not in required):
            continue
        kind = next((what for test, what in _SPECIAL_FILES if test(mode)), "not a regular file")
        found.append(f"{name} ({kind})")
    return found


def _damaged_weights(snapshot: Path, weights_format: WeightFormat) -> list[str]:
    """Each weights file whose size does not match its own headers (safetensors files, and a
    CTranslate2 ``model.bin``), with the sizes."""
    checks = [(path, safetensors_problem) for path in sorted(snapshot.rglob("*.safetensors"))]
    if weights_format.name == "ctranslate2":
        checks.append((snapshot / "model.bin", ct2_problem))
    return [
        f"{path.relative_to(snapshot).as_posix()} {problem}"
        for path, problem_of in checks
        if (problem := problem_of(path)) is not None
    ]


def _names(items: Iterable[str]) -> str:
    items = list(items)
    shown = ", ".join(items[:4])
    return shown + (f" and {len(items) - 4} more" if len(items) > 4 else "")


def _check_files(
    request: WeightsRequest, weights_format: WeightFormat, repo_id: str, scan: _Scan
) -> WeightsStatus:
    """Checks 1-7 on the repo's snapshot: ``complete`` when the files look whole."""

    def record(
        status: Status, reason: str, *, fixable: bool = False, **extra: Any
    ) -> WeightsStatus:
        needs_fix = fixable or status in ("missing", "incomplete")
        base: dict[str, Any] = {
            "revision": None,
            "size_on_disk": 0,
            "snapshot_path": None,
            "fix": fix_command(request.size, scan.given, request.needed_by) if needs_fix else None,
        }
        base.update(extra)
        return WeightsStatus(status, request.size, request.format, repo_id, reason=reason, **base)

    repo_dir = repo_folder(scan.cache_dir.resolve(), repo_id)
    if scan.error is not None:
        return record("missing", f"not cached: {scan.error}")
    if not repo_dir.is_dir():
        return record("missing", f"not in the cache {scan.cache_dir}")
    revision = read_main_ref(repo_dir)
    snapshot = snapshot_folder(repo_dir, revision or "-")
    where: dict[str, Any] = {"revision": revision}
    scanned = scan.repos.get(repo_dir)
    if revision is not None and snapshot.is_dir():
        found = next(
            (r for r in (scanned.revisions if scanned else ()) if r.commit_hash == revision), None
        )
        where["snapshot_path"] = str(snapshot)
        where["size_on_disk"] = found.size_on_disk if found is not None else _blob_bytes(snapshot)
    partial = scan.incomplete.get(repo_dir, [])
    if partial:
        partial_mb = sum(nbytes for _, nbytes in partial) / MB
        return record(
            "incomplete",
            f"an interrupted download left {len(partial)} .incomplete blob(s) "
            f"({partial_mb:.1f} MB) in {repo_dir / 'blobs'}; download it again",
            **where,
        )
    if revision is None:
        return record(
            "incomplete",
            f"{repo_dir / 'refs' / 'main'} is missing, so loaders cannot find a snapshot",
        )
    if "snapshot_path" not in where:
        return record(
            "incomplete",
            f"refs/main names revision {revision}, but its snapshot folder {snapshot} is missing",
            **where,
        )
    missing = _missing_required(snapshot, weights_format)
    if missing:
        return record(
            "incomplete", f"the snapshot lacks {_names(missing)}, which the model needs", **where
        )
    broken = _broken_links(snapshot)
    if broken:
        return record(
            "incomplete",
            f"the blob behind {_names(broken)} is gone (broken symlink in the snapshot)",
            **where,
        )
    special = _not_regular(snapshot, weights_format)
    if special:
        return record(
            "error",
            f"{_names(special)} in the snapshot is not a regular file, so it cannot be read; "
            "import or download the model again",
            fixable=True,
            **where,
        )
    damaged = _damaged_weights(snapshot, weights_format)
    if damaged:
        return record(
            "incomplete",
            f"{'; '.join(damaged[:2])} (an interrupted copy or download); import or download "
            "it again",
            **where,
        )
    if scanned is None:  # scan_cache_dir rejected the repo for something not caught above
        why = next((w for w in scan.warnings if str(repo_dir) in w), "the repo folder is malformed")
        return record("error", f"huggingface_hub cannot read the cached repo: {why}", **where)
    return record("complete", "all required files present (not loaded)", **where)


def _with_conversion(status: WeightsStatus, weights_format: WeightFormat) -> WeightsStatus:
    """A whole source snapshot, pointed at its conversion to ``weights_format`` when made."""
    if not status.ready or status.snapshot_path is None or weights_format.conversion is None:
        return status
    assert status.repo_id is not None and status.revision is not None
    conversion = load_conversion(weights_format.conversion)
    folder = conversion_folder(conversion, status.repo_id, status.revision)
    if (folder / MARKER).is_file():
        status.snapshot_path = str(folder)
        status.size_on_disk = _blob_bytes(folder)
        status.reason = (
            f"all required files present, converted to {weights_format.name} (not loaded)"
        )
    else:
        status.reason = (
            f"all required files present (not loaded); converted to {weights_format.name} "
            "on first use"
        )
    return status


def _native(
    request: WeightsRequest, weights_format: WeightFormat, scan: _Scan
) -> WeightsStatus | None:
    """The whole cached snapshot of the format's native repo for this size, or None."""
    native = native_repo(request.size, weights_format.name)
    if native is None:
        return None
    files = dataclasses.replace(
        weights_format,
        required=native.required,
        allow_patterns=native.allow_patterns,
        converted_from=None,
        conversion=None,
    )
    status = _check_files(request, files, native.repo_id, scan)
    if not status.ready:
        return None
    status.reason = f"the native repo {native.repo_id}: all required files present (not loaded)"
    return status


def _inspect_one(request: WeightsRequest, scan: _Scan) -> WeightsStatus:
    try:
        weights_format = get_format(request.format)
        repo_id = get_model(request.size).repo_id(weights_format.repo_format)
    except WhisperBenchError as exc:
        return WeightsStatus("error", request.size, request.format, None, None, 0, None, str(exc))
    source = weights_format
    if weights_format.converted_from is not None:
        native = _native(request, weights_format, scan)
        if native is not None:
            return native
        source = get_format(weights_format.converted_from)
    status = _check_files(request, source, repo_id, scan)
    return _with_conversion(status, weights_format)


def inspect_many(
    requests: Sequence[WeightsRequest], *, cache_dir: Path | None = None
) -> list[WeightsStatus]:
    """One status per request, in order, scanning the cache once.

    ``cache_dir``: the folder to check (None: from the environment, see
    ``layout.resolve_cache_dir``); when given, fixes name it. An unknown size raises
    (UnknownModelError); an unknown format gives an ``error`` status.
    """
    for request in requests:
        get_model(request.size)
    scan = _Scan.of(cache_dir)
    return [_inspect_one(request, scan) for request in requests]


def inspect_one(
    size: str, weights_format: str, *, cache_dir: Path | None = None, needed_by: str | None = None
) -> WeightsStatus:
    """The status of one (size, format); see ``inspect_many``."""
    return inspect_many([WeightsRequest(size, weights_format, needed_by)], cache_dir=cache_dir)[0]


def native_snapshot(
    size: str, weights_format: str, *, cache_dir: Path | None = None
) -> WeightsStatus | None:
    """The whole cached snapshot of ``weights_format``'s native repo for ``size``, or None
    (no native repo, or not whole in the cache)."""
    return _native(
        WeightsRequest(size, weights_format), get_format(weights_format), _Scan.of(cache_dir)
    )


def status_counts(records: Iterable[WeightsStatus]) -> dict[Status, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for item in records:
        counts[item.status] += 1
    return counts
