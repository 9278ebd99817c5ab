"""Options shared by the commands that work on the model cache (check-models, download,
import-model); not a command itself."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from whisperbench.implementations import parse_implementation_list
from whisperbench.models import parse_model_list
from whisperbench.weights import check_cache_dir, resolve_cache_dir


def add_model_selection(parser: argparse.ArgumentParser, default_model: str) -> None:
    """``--model`` (also spelled ``--models``, as the benchmark suite spells it) and
    ``--implementations``, both taking a comma-separated list or 'all'."""
    parser.add_argument(
        "--model",
        "--models",
        dest="model",
        default=default_model,
        help=f"a size, a comma-separated list, or 'all' (default: {default_model})",
    )
    parser.add_argument(
        "--implementations",
        default="all",
        help="comma-separated implementation names, or 'all' registered ones (default: all)",
    )


def _cache_dir_arg(text: str) -> Path:
    if not text.strip():  # an unset variable: not the current folder
        raise argparse.ArgumentTypeError("names no folder (an empty value)")
    return Path(text)


def add_cache_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cache-dir",
        type=_cache_dir_arg,
        default=None,
        help="Hugging Face hub cache (default: HF_HUB_CACHE, else HF_HOME/hub)",
    )


@dataclass(frozen=True)
class Selection:
    sizes: list[str]
    implementations: list[str]
    cache_dir: Path | None
    """``--cache-dir`` as given (None: from the environment); fix commands repeat it."""

    @property
    def cache_root(self) -> Path:
        """The cache folder that is read and written."""
        return resolve_cache_dir(self.cache_dir)


def selection(args: argparse.Namespace, *, write: bool = False) -> Selection:
    """The checked sizes, implementations and cache folder that the options name (``write``:
    the command writes into the cache, so it must be writable); ``CacheDirError`` for a cache
    folder that cannot serve."""
    check_cache_dir(args.cache_dir, write=write)
    return Selection(
        sizes=parse_model_list(args.model),
        implementations=parse_implementation_list(args.implementations),
        cache_dir=args.cache_dir,
    )
