"""``whisperbench import-model``: put a local model folder into the Hugging Face cache.

``import-model SOURCE_DIR --repo-id ORG/NAME`` imports a transformers or CTranslate2 folder
(a CTranslate2 folder is converted for an ``openai/whisper-*`` repo); ``import-model --bundled
SIZE`` imports the weights that the ``whisperbench[offline-models]`` packages ship, for the
transformers format, the ctranslate2 format or both. Loaders then find the model offline
(``HF_HUB_OFFLINE=1``) as if it had been downloaded.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from whisperbench.commands._cache_options import add_cache_dir
from whisperbench.errors import ModelImportError
from whisperbench.models import REPO_FORMATS
from whisperbench.weights import ImportedModel, check_cache_dir, import_bundled, import_model

MB = 1_000_000


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "import-model",
        description="Place a local Whisper model folder into the Hugging Face hub cache under a "
        "repo id, so loaders find it offline as if downloaded. A CTranslate2 (faster-whisper) "
        "folder is converted when the repo is a transformers one (openai/whisper-*).",
    )
    parser.add_argument(
        "source_dir",
        metavar="SOURCE_DIR",
        nargs="?",
        type=Path,
        default=None,
        help="a transformers or CTranslate2 model folder",
    )
    parser.add_argument("--repo-id", metavar="ORG/NAME", help="the repo to import SOURCE_DIR as")
    parser.add_argument(
        "--bundled",
        metavar="SIZE",
        help="import the model a whisperbench[offline-models] package ships (tiny.en, base)",
    )
    parser.add_argument(
        "--family",
        choices=(*REPO_FORMATS, "all"),
        default="all",
        help="with --bundled: which weight format's repo to fill (default: all)",
    )
    add_cache_dir(parser)
    parser.set_defaults(func=run)


def describe(record: ImportedModel) -> str:
    """What was written, one field a line, and the interrupted downloads' blobs removed (or
    left to a download that is still running)."""
    lines = [
        record.repo_id,
        f"  revision  {record.revision}",
        f"  snapshot  {record.snapshot_path}",
        f"  size      {record.size_bytes / MB:.1f} MB ({record.size_bytes} bytes)",
    ]
    lines += [f"  {line}" for line in record.partials.lines()]
    return "\n".join(lines)


def _records(args: argparse.Namespace) -> list[ImportedModel]:
    check_cache_dir(args.cache_dir, write=True)
    if args.bundled is not None:
        if args.source_dir is not None or args.repo_id is not None:
            raise ModelImportError("give either SOURCE_DIR --repo-id ORG/NAME or --bundled SIZE")
        formats = REPO_FORMATS if args.family == "all" else (args.family,)
        return [import_bundled(args.bundled, f, args.cache_dir) for f in formats]
    if args.source_dir is None or args.repo_id is None:
        raise ModelImportError(
            "name what to import: whisperbench import-model SOURCE_DIR --repo-id ORG/NAME, "
            "or whisperbench import-model --bundled SIZE"
        )
    return [import_model(args.source_dir, args.repo_id, args.cache_dir)]


def run(args: argparse.Namespace) -> int:
    for record in _records(args):
        print(f"imported {describe(record)}")
    return 0
