"""The ``whisperbench`` command: each sub-command lives in its own module under ``commands/``.

A command module exposes ``register(subparsers)``, which adds its parser and sets
``func`` (taking the parsed namespace, returning the exit code) as the parser default. The
commands are imported lazily: ``COMMANDS`` names each one's module and one-line help, so that
``whisperbench --help`` imports none of them and ``whisperbench report`` imports only
``report``'s (and what it uses).

Every error is one line on stderr, ``whisperbench COMMAND: error: ...``, and exit status 2: bad
options (argparse's, without its usage block: ``--help`` shows that), whisperbench's own errors
and the system's (a folder that cannot be written, a full disk); even one that no check
foresaw (its traceback with ``WHISPERBENCH_TRACEBACK=1``). Output goes through
``safe_output``: a reader that leaves the pipe (``| head -1``) costs nothing and changes no exit
code (check-regressions' 1 means a regression), and an ASCII-only stdout gets plain text.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from whisperbench import __version__
from whisperbench.errors import WhisperBenchError
from whisperbench.safe_output import safe_stdio

COMMANDS: dict[str, tuple[str, str]] = {
    "check-models": (
        "whisperbench.commands.check_models",
        "show which models are cached, complete and loadable",
    ),
    "download": (
        "whisperbench.commands.download",
        "download (or complete) the models the implementations need",
    ),
    "import-model": (
        "whisperbench.commands.import_model",
        "import a local (or bundled) model folder into the Hugging Face cache",
    ),
    "report": (
        "whisperbench.commands.report",
        "Markdown + HTML report (tables, plots, history) from saved benchmark runs",
    ),
    "compare": (
        "whisperbench.commands.compare",
        "relative change per case between two saved runs, with significance",
    ),
    "check-regressions": (
        "whisperbench.commands.check_regressions",
        "fail (exit 1) when the newest saved run is slower, less accurate or repeats more "
        "text than its history",
    ),
    "publish": (
        "whisperbench.commands.publish",
        "upload saved runs to a Hugging Face dataset repo shared by many machines",
    ),
}
"""Each sub-command: the module that defines it, and its line in ``whisperbench --help``."""
ERROR_STATUS = 2
TRACEBACK_ENV = "WHISPERBENCH_TRACEBACK"
"""Set, an error no check foresaw shows its traceback (for a bug report)."""
INTERRUPTED_STATUS = 130
"""128 + SIGINT, as a shell reports a command stopped by Ctrl-C."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, whose errors are one line (``PROG: error: MESSAGE; see PROG --help``)."""

    def error(self, message: str) -> NoReturn:
        self.exit(ERROR_STATUS, f"{self.prog}: error: {message}; see {self.prog} --help\n")


class _CommandParsers:
    """The sub-parsers, as a command's ``register`` sees them: its parser gets the help line of
    ``COMMANDS``."""

    def __init__(self, subparsers: Any, help: str) -> None:
        self.subparsers = subparsers
        self.help = help

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = self.subparsers.add_parser(name, help=self.help, **kwargs)
        return parser


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of ``command`` (the others are names with their help line, their modules not
    imported), or of every command when none is given."""
    parser = OneLineParser(
        prog="whisperbench",
        description="Benchmark Whisper speech recognition on this machine.",
    )
    parser.add_argument("--version", action="version", version=f"whisperbench {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help) in COMMANDS.items():
        if command is None or command == name:
            importlib.import_module(module_name).register(_CommandParsers(subparsers, help))
        else:
            subparsers.add_parser(name, help=help)
    return parser


def _command_of(argv: Sequence[str]) -> str:
    """The sub-command ``argv`` runs ("" for none: ``--help``, ``--version``, a typo)."""
    return next((arg for arg in argv if arg in COMMANDS), "")


def _os_error(exc: OSError) -> str:
    """``cannot write reports/x/summary.md: No space left on device`` and the like."""
    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{exc.strerror or exc}"


def main(argv: Sequence[str] | None = None) -> int:
    with safe_stdio():
        argv = sys.argv[1:] if argv is None else list(argv)
        args = build_parser(_command_of(argv)).parse_args(argv)
        prefix = f"whisperbench {args.command}"
        try:
            code: int = args.func(args)
        except WhisperBenchError as exc:
            print(f"{prefix}: error: {exc}", file=sys.stderr)
            return ERROR_STATUS
        except OSError as exc:
            print(f"{prefix}: error: {_os_error(exc)}", file=sys.stderr)
            return ERROR_STATUS
        except KeyboardInterrupt:
            print(f"{prefix}: interrupted", file=sys.stderr)
            return INTERRUPTED_STATUS
        except Exception as exc:  # a bug, or input no check foresaw: still one line
            if os.environ.get(TRACEBACK_ENV):
                raise
            what = f"{type(exc).__name__}: {exc}".rstrip(": ")
            print(
                f"{prefix}: error: unexpected {what} (rerun with {TRACEBACK_ENV}=1 for the "
                "traceback, and report it)",
                file=sys.stderr,
            )
            return ERROR_STATUS
        return code


if __name__ == "__main__":
    sys.exit(main())
