"""What interrupted downloads leave in a hub cache: ``blobs/<etag>[.<id>].incomplete`` files.

huggingface_hub 2 downloads each file into a fresh ``<etag>.<id>.incomplete`` and never reuses
one (older versions resumed ``<etag>.incomplete``), so a file left by a killed download stays for
good and keeps the repo ``incomplete``. A whole import or download of the repo removes them,
except where a running download holds the blob's lock (``.locks/<repo folder>/<etag>.lock``, the
one huggingface_hub takes).

They are found by that layout (``<cache>/<repo folder>/blobs/*.incomplete``), the pattern
huggingface_hub's own ``scan_cache_dir`` globs: its ``HFCacheInfo.incomplete_files`` exists only
in recent releases (1.x), and ``pyproject.toml`` allows huggingface_hub 0.34 (transformers 4.x
requires a hub below 1.0).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from whisperbench.weights.layout import repo_folder, repo_folder_name

__all__ = ["StalePartials", "partial_blobs", "remove_stale_partials"]

PARTIAL_PATTERN = "*.incomplete"
"""What a download writes into ``blobs/`` until the file is whole."""


@dataclass(frozen=True)
class StalePartials:
    removed: tuple[Path, ...] = ()
    """Left by an interrupted download: removed."""
    busy: tuple[Path, ...] = ()
    """Left in place: a running download holds their lock."""

    def lines(self) -> list[str]:
        """One line for each: what was removed, and what was kept and why."""
        return [f"removed {path} (left by an interrupted download)" for path in self.removed] + [
            f"kept {path} (a running download holds its lock; run again when it ends)"
            for path in self.busy
        ]


def partial_blobs(cache_dir: Path) -> dict[Path, list[tuple[Path, int]]]:
    """The ``.incomplete`` blobs of every repo of the cache, with their sizes, by repo folder
    (``cache_dir`` resolved, as ``scan_cache_dir`` resolves it); a blob that vanishes meanwhile
    (its download finished) is left out."""
    found: dict[Path, list[tuple[Path, int]]] = {}
    for partial in sorted(cache_dir.resolve().glob(f"*/blobs/{PARTIAL_PATTERN}")):
        try:
            size = partial.stat().st_size
        except OSError:
            continue
        found.setdefault(partial.parent.parent, []).append((partial, size))
    return found


def remove_stale_partials(cache_dir: Path, repo_id: str) -> StalePartials:
    """Remove the ``.incomplete`` blobs of ``repo_id`` whose download lock is free."""
    removed: list[Path] = []
    busy: list[Path] = []
    locks = cache_dir / ".locks" / repo_folder_name(repo_id)
    for partial in sorted((repo_folder(cache_dir, repo_id) / "blobs").glob(PARTIAL_PATTERN)):
        locks.mkdir(parents=True, exist_ok=True)
        etag = partial.name.split(".", 1)[0]
        try:
            with FileLock(locks / f"{etag}.lock", timeout=0):
                partial.unlink(missing_ok=True)
        except Timeout:
            busy.append(partial)
            continue
        removed.append(partial)
    return StalePartials(tuple(removed), tuple(busy))
