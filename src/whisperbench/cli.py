"""The ``whisperbench`` command: each sub-command lives in its own module under ``commands/``.

A command module exposes ``register(subparsers)``, which adds its parser and sets
``func`` (taking the parsed namespace, returning the exit code) as the parser default.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from whisperbench import __version__
from whisperbench.errors import WhisperBenchError

COMMAND_MODULES = (
    "whisperbench.commands.check_models",
    "whisperbench.commands.download",
    "whisperbench.commands.import_model",
    "whisperbench.commands.report",
    "whisperbench.commands.compare",
    "whisperbench.commands.check_regressions",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="whisperbench",
        description="Benchmark Whisper speech recognition on this machine.",
    )
    parser.add_argument("--version", action="version", version=f"whisperbench {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except WhisperBenchError as exc:
        print(f"whisperbench {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
