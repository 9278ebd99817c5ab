"""``--shards N`` checked against the session before anything runs: only corpus cases are
split, so a sharded session needs a corpus and takes no clip case, and a corpus cannot be split
into more shards than it has utterances. Each problem is one line naming it and the fix (a
``ValueError``, which the session turns into a usage error)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from whisperbench.datasets import DatasetSpec, item_count

__all__ = ["shard_problem"]


def shard_problem(
    shards: int, corpora: Sequence[DatasetSpec], clips: Sequence[Path], audio: bool
) -> str | None:
    """Why ``--shards shards`` cannot split this session's cases (None: it can, or the
    corpora run whole); ``audio``: the clips came from ``--audio``."""
    if shards <= 1:
        return None
    option = f"--shards {shards}"
    if not corpora:
        return (
            f"{option} splits corpus cases, and this session has none: give --dataset PATH or "
            "--clips real (or corpus), or leave out --shards"
        )
    if clips:
        names = ", ".join(path.stem for path in clips)
        given = "--audio" if audio else "--clips"
        return (
            f"{option} splits corpus cases only, and {given} gives clip cases ({names}), which "
            f"are not split: run them in a session without --shards, or leave them out"
        )
    for spec in corpora:
        count = item_count(spec)
        if count is not None and count < shards:
            return (
                f"{option}: corpus {spec.name} has {count} utterance(s), fewer than the shards; "
                f"give --shards {count} or fewer"
            )
    return None
