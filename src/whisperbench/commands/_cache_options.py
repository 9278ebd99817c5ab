"""Options shared by the commands that work on the model cache (check-models, download,
import-model); not a command itself."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_model_selection(parser: argparse.ArgumentParser, default_model: str) -> None:
    """``--model`` and ``--implementations``, both taking a comma-separated list or 'all'."""
    parser.add_argument(
        "--model",
        default=default_model,
        help=f"a size, a comma-separated list, or 'all' (default: {default_model})",
    )
    parser.add_argument(
        "--implementations",
        default="all",
        help="comma-separated implementation names, or 'all' registered ones (default: all)",
    )


def add_cache_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="Hugging Face hub cache (default: HF_HUB_CACHE, else HF_HOME/hub)",
    )
