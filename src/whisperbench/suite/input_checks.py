"""The suite's inputs said back to the user: every input that the suite repeats, ignores or
overrides gets a one-line warning, and a list that names nothing is an error.

- ``repeated_options``: an option given twice on the command line (pytest keeps the last);
- ``once_each``: a list naming the same thing twice (``--models tiny.en,tiny.en``): it runs
  once;
- ``required``: a list that is empty once read (``--implementations ,``) is an error;
- ``unused_options``: an option that another makes moot (``--clips`` beside ``--audio``);
- ``ignored_benchmark_options``: pytest-benchmark's calibration options (``--benchmark-min-rounds``
  and the like), which the suite's fixed rounds never read;
- ``folder_leftovers``: what an ``--audio`` folder holds that is not read (subfolders, files
  that are not audio, transcripts with no audio beside them);
- ``distinct_names``: audio files whose clips would share a name or a test ID (``a.wav`` and
  ``a.flac``; ``café`` and ``cafe``): the first is kept, each other is left out with a line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from whisperbench.audio import AUDIO_SUFFIXES, REFERENCE_SUFFIX
from whisperbench.names import id_part

__all__ = [
    "distinct_names",
    "folder_leftovers",
    "ignored_benchmark_options",
    "once_each",
    "repeated_options",
    "required",
    "unused_options",
]

T = TypeVar("T")


def option_values(args: Sequence[str], option: str) -> list[str]:
    """The values ``option`` (one that takes a value) is given in ``args``, in order:
    ``--opt VALUE`` and ``--opt=VALUE``."""
    return [
        args[index + 1] if arg == option and index + 1 < len(args) else arg.partition("=")[2]
        for index, arg in enumerate(args)
        if arg == option or arg.startswith(option + "=")
    ]


def repeated_options(args: Sequence[str], options: Iterable[str]) -> list[str]:
    """A line per option of ``options`` (each takes a value) given more than once in
    ``args``, naming the value that is used (the last)."""
    lines = []
    for option in options:
        values = option_values(args, option)
        if len(values) > 1:
            lines.append(
                f"{option} is given {len(values)} times; only the last ({values[-1]!r}) is used"
            )
    return lines


def once_each(option: str, values: Iterable[T]) -> tuple[list[T], list[str]]:
    """``values`` without repeats (in their order), and a line per value named twice."""
    kept: list[T] = []
    lines = []
    for value in values:
        if value in kept:
            lines.append(f"{option} names {value} more than once; it runs once")
        else:
            kept.append(value)
    return kept, list(dict.fromkeys(lines))


def required(option: str, values: Sequence[T], choices: str) -> Sequence[T]:
    """``values``, or ValueError when there are none."""
    if not values:
        raise ValueError(f"{option} names nothing to run; give {choices}")
    return values


def unused_options(args: Sequence[str], moot: Mapping[str, str]) -> list[str]:
    """A line per option given in ``args`` that ``moot`` (option -> why) says has no effect."""
    return [
        f"{option} {values[-1]} is ignored: {why}"
        for option, why in moot.items()
        if (values := option_values(args, option))
    ]


PEDANTIC_IGNORES = {
    "--benchmark-min-rounds": "--rounds",
    "--benchmark-max-time": "--rounds",
    "--benchmark-min-time": "--rounds",
    "--benchmark-calibration-precision": "--rounds",
    "--benchmark-warmup": "--warmup-rounds",
    "--benchmark-warmup-iterations": "--warmup-rounds",
}
"""pytest-benchmark's options for its own calibrated runs, which the suite's cases (timed
with ``benchmark.pedantic``: a fixed number of rounds) never read; each with the suite's own."""


def ignored_benchmark_options(args: Sequence[str]) -> list[str]:
    """A line per pytest-benchmark option in ``args`` that the suite's cases do not read."""
    given = {arg.partition("=")[0] for arg in args}
    return [
        f"{option} is ignored: the suite times each case in a fixed number of rounds; use {instead}"
        for option, instead in PEDANTIC_IGNORES.items()
        if option in given
    ]


def folder_leftovers(folder: Path) -> list[str]:
    """What the ``--audio`` folder holds that is not read, a line each (hidden entries, whose
    names start with ``.``, are left alone)."""
    if not folder.is_dir():
        return []
    entries = sorted(entry for entry in folder.iterdir() if not entry.name.startswith("."))
    audio = {entry.stem for entry in entries if entry.suffix.lower() in AUDIO_SUFFIXES}
    lines = []
    for entry in entries:
        suffix = entry.suffix.lower()
        if entry.is_dir():
            lines.append(
                f"{entry}: ignored: --audio reads the files of one folder, not its subfolders"
            )
        elif suffix == REFERENCE_SUFFIX and entry.stem not in audio:
            lines.append(f"{entry}: ignored: a transcript with no audio file of its name beside it")
        elif suffix not in (*AUDIO_SUFFIXES, REFERENCE_SUFFIX):
            lines.append(
                f"{entry}: ignored: not an audio file ({', '.join(AUDIO_SUFFIXES)}); "
                "convert it to wav or flac to benchmark it"
            )
    return lines


def distinct_names(paths: Sequence[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """``paths`` whose clips have distinct names and test IDs, and each other one with the
    reason it is left out."""
    kept: dict[str, Path] = {}
    left_out = []
    for path in paths:
        key = id_part(path.stem)
        first = kept.get(key)
        if first is None:
            kept[key] = path
            continue
        same = "name" if first.stem == path.stem else f"test ID part ({id_part(path.stem)})"
        left_out.append(
            (
                path,
                f"{path}: left out: {first.name} gives its clip the same {same}; rename one",
            )
        )
    return list(kept.values()), left_out
