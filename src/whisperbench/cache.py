"""Is a model in the Hugging Face cache, whole, and loadable? One status record per
(implementation, model size).

Checks, in order, each ending the inspection when it fails:

1. the repo is in the cache at all (``missing`` otherwise);
2. no ``.incomplete`` blob is left from an interrupted download;
3. the snapshot that ``refs/main`` names holds every file the family needs
   (``models.FAMILY_FILES``; a sharded index also needs its shards);
4. no snapshot symlink points at a blob that is gone;
5. with ``verify_method="load"``: the model loads through the real implementation in a child
   process, killed at the model map's limit (``timeout``), or fails (``error``).

The cache is scanned with ``huggingface_hub.scan_cache_dir``, once per ``inspect_many`` call.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Literal, get_args

from huggingface_hub import CachedRepoInfo, HFCacheInfo, scan_cache_dir
from huggingface_hub.errors import CacheNotFound

from whisperbench.errors import ImplementationUnavailableError, WhisperBenchError
from whisperbench.hub import fix_command
from whisperbench.implementations import get_implementation
from whisperbench.models import FAMILY_FILES, Family, get_model
from whisperbench.verify_load import VerifyResult, run_verify_load

__all__ = [
    "ModelStatus",
    "Status",
    "VerifyMethod",
    "clear_verify_cache",
    "inspect_many",
    "inspect_model",
    "repo_folder",
    "resolve_cache_dir",
]

Status = Literal["complete", "incomplete", "missing", "error", "timeout"]
VerifyMethod = Literal["load", "cache-only"]
STATUSES: tuple[Status, ...] = get_args(Status)
MB = 1_000_000


@dataclass
class ModelStatus:
    """What the cache holds for one (implementation, model size), and what to do about it."""

    status: Status
    implementation: str
    model: str
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
    def from_dict(cls, data: dict[str, Any]) -> ModelStatus:
        known = {f.name for f in fields(cls)}
        if data.get("status") not in STATUSES:
            raise ValueError(f"unknown status {data.get('status')!r}; expected one of {STATUSES}")
        return cls(**{key: value for key, value in data.items() if key in known})


def resolve_cache_dir(cache_dir: str | Path | None = None) -> Path:
    """The hub cache folder: ``cache_dir``, else HF_HUB_CACHE, else HF_HOME/hub, else
    ~/.cache/huggingface/hub (XDG_CACHE_HOME honoured), read from the environment now (not at
    import, as ``huggingface_hub.constants`` does)."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ
    if env.get("HF_HUB_CACHE"):
        return Path(os.path.expandvars(env["HF_HUB_CACHE"])).expanduser()
    if env.get("HUGGINGFACE_HUB_CACHE"):
        return Path(os.path.expandvars(env["HUGGINGFACE_HUB_CACHE"])).expanduser()
    if env.get("HF_HOME"):
        return Path(os.path.expandvars(env["HF_HOME"])).expanduser() / "hub"
    xdg = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg).expanduser() / "huggingface" / "hub"


def repo_folder(cache_dir: Path, repo_id: str) -> Path:
    """``<cache>/models--org--name``, as huggingface_hub lays a model repo out."""
    return cache_dir / ("models--" + repo_id.replace("/", "--"))


@dataclass(frozen=True)
class _Scan:
    """One ``scan_cache_dir`` result, indexed by repo folder."""

    cache_dir: Path
    repos: dict[Path, CachedRepoInfo]
    incomplete: dict[Path, list[tuple[Path, int]]]
    warnings: list[str]
    error: str | None

    @classmethod
    def of(cls, cache_dir: Path) -> _Scan:
        try:
            info: HFCacheInfo = scan_cache_dir(cache_dir)
        except CacheNotFound:
            return cls(cache_dir, {}, {}, [], f"the cache folder {cache_dir} does not exist")
        except (OSError, ValueError) as exc:
            return cls(cache_dir, {}, {}, [], f"cannot scan the cache folder {cache_dir}: {exc}")
        incomplete: dict[Path, list[tuple[Path, int]]] = {}
        for item in info.incomplete_files:
            incomplete.setdefault(item.file_path.parent.parent, []).append(
                (item.file_path, item.size_on_disk)
            )
        return cls(
            cache_dir,
            {repo.repo_path: repo for repo in info.repos},
            incomplete,
            [str(warning) for warning in info.warnings],
            None,
        )


def _read_main_ref(repo_dir: Path) -> str | None:
    try:
        return (repo_dir / "refs" / "main").read_text().strip() or None
    except OSError:
        return None


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


def _missing_required(snapshot: Path, family: Family) -> list[str]:
    """Required entries the snapshot lacks, as ``a (or b, c)``; an index also needs its shards."""
    missing = []
    for entry in FAMILY_FILES[family].required:
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


def _names(items: Iterable[str]) -> str:
    items = list(items)
    shown = ", ".join(items[:4])
    return shown + (f" and {len(items) - 4} more" if len(items) > 4 else "")


def _check_files(
    implementation: str, size: str, family: Family, repo_id: str, scan: _Scan
) -> ModelStatus:
    """Checks 1-4: the record says ``complete`` when the files look whole."""

    def record(status: Status, reason: str, **extra: Any) -> ModelStatus:
        fix = fix_command(size, implementation) if status in ("missing", "incomplete") else None
        base: dict[str, Any] = {
            "revision": None,
            "size_on_disk": 0,
            "snapshot_path": None,
            "fix": fix,
        }
        base.update(extra)
        return ModelStatus(status, implementation, size, repo_id, reason=reason, **base)

    repo_dir = repo_folder(scan.cache_dir.resolve(), repo_id)
    if scan.error is not None:
        return record("missing", f"not cached: {scan.error}")
    if not repo_dir.is_dir():
        return record("missing", f"not in the cache {scan.cache_dir}")
    revision = _read_main_ref(repo_dir)
    snapshot = repo_dir / "snapshots" / (revision or "-")
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
            f"({partial_mb:.1f} MB) in {repo_dir / 'blobs'}; resume the download",
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
    missing = _missing_required(snapshot, family)
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
    if scanned is None:  # scan_cache_dir rejected the repo for something not caught above
        why = next((w for w in scan.warnings if str(repo_dir) in w), "the repo folder is malformed")
        return record("error", f"huggingface_hub cannot read the cached repo: {why}", **where)
    return record("complete", "all required files present (not loaded)", **where)


_VERIFY_CACHE: dict[tuple[Any, ...], VerifyResult] = {}


def clear_verify_cache() -> None:
    """Forget the verify-by-load results of this process."""
    _VERIFY_CACHE.clear()


def _fingerprint(snapshot: Path) -> tuple[tuple[str, int, int], ...]:
    """Names, sizes and mtimes behind the snapshot: a changed file means a new verification."""
    items = []
    for path in sorted(snapshot.rglob("*")):
        try:
            st = path.stat()
        except OSError:
            continue
        items.append((str(path.relative_to(snapshot)), st.st_size, st.st_mtime_ns))
    return tuple(items)


def _verify(status: ModelStatus, cache_dir: Path, limit_s: float) -> ModelStatus:
    """Check 5: load in a child process; cached per (implementation, size, revision) and files."""
    assert status.snapshot_path is not None
    key = (
        status.implementation,
        status.model,
        status.revision,
        str(cache_dir.resolve()),
        _fingerprint(Path(status.snapshot_path)),
        limit_s,
    )
    result = _VERIFY_CACHE.get(key)
    if result is None:
        result = run_verify_load(status.implementation, status.model, cache_dir, limit_s)
        _VERIFY_CACHE[key] = result
    status.verify_method = "load"
    status.limit_s = limit_s
    status.load_s = result.load_s
    if result.outcome == "ok":
        status.reason = result.message
    elif result.outcome == "timeout":
        default = limit_s == get_model(status.model).verify_timeout_s
        status.status = "timeout"
        status.reason = result.message + (
            f" (the model map's limit for {status.model})" if default else " (limit overridden)"
        )
    else:
        status.status = "error"
        status.reason = f"loading failed: {result.message}"
    return status


def _implementation_family(name: str) -> tuple[Family | None, str | None]:
    """The family of ``name`` and why it cannot run here (None when it can)."""
    try:
        cls = get_implementation(name)
    except ImplementationUnavailableError as exc:
        return None, str(exc)
    reason = cls.unavailable_reason()
    return cls.family, (f"{name} is not available here: {reason}" if reason else None)


def _inspect_one(implementation: str, size: str, scan: _Scan) -> ModelStatus:
    spec = get_model(size)
    family, unavailable = _implementation_family(implementation)
    if family is None:
        return ModelStatus(
            "error", implementation, size, None, None, 0, None, unavailable or "unknown family"
        )
    try:
        repo_id = spec.repo_id(family)
    except WhisperBenchError as exc:
        return ModelStatus("error", implementation, size, None, None, 0, None, str(exc))
    status = _check_files(implementation, size, family, repo_id, scan)
    if unavailable is not None:
        status.reason = f"{unavailable} (cache: {status.status}: {status.reason})"
        status.status = "error"
        status.fix = None
    return status


def inspect_many(
    implementations: list[str],
    sizes: list[str],
    *,
    cache_dir: Path | None = None,
    verify_method: VerifyMethod = "cache-only",
    timeout_s: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[ModelStatus]:
    """One record per (implementation, size), implementation-major, scanning the cache once.

    ``timeout_s`` overrides the model map's load limit (tests); ``progress`` hears a line before
    each verifying load. An unknown size or implementation name raises (UnknownModelError,
    UnknownImplementationError); an implementation that cannot run here (a missing package, a
    plugin that fails to import) gives an ``error`` record.
    """
    if verify_method not in get_args(VerifyMethod):
        raise ValueError(f"verify_method must be one of {get_args(VerifyMethod)}")
    for size in sizes:
        get_model(size)
    root = resolve_cache_dir(cache_dir)
    scan = _Scan.of(root)
    records = []
    for implementation in implementations:
        for size in sizes:
            status = _inspect_one(implementation, size, scan)
            if verify_method == "load" and status.ready:
                limit = timeout_s if timeout_s is not None else get_model(size).verify_timeout_s
                if progress is not None:
                    progress(f"loading {implementation} {size} to verify it (limit {limit:g} s)")
                status = _verify(status, root, limit)
            records.append(status)
    return records


def inspect_model(
    implementation: str,
    size: str,
    *,
    cache_dir: Path | None = None,
    verify_method: VerifyMethod = "cache-only",
    timeout_s: float | None = None,
) -> ModelStatus:
    """The status of one (implementation, size); see ``inspect_many``."""
    return inspect_many(
        [implementation],
        [size],
        cache_dir=cache_dir,
        verify_method=verify_method,
        timeout_s=timeout_s,
    )[0]


def status_counts(records: Iterable[ModelStatus]) -> dict[Status, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for item in records:
        counts[item.status] += 1
    return counts
