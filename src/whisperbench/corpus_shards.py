"""A corpus split into shards (``--shards N``), so that N devices of one host can each
transcribe a part of it at once (pytest-xdist, one worker per device) and the report joins
the parts into one corpus result (``results.shards``).

Shard k of N (k from 1) holds every N-th utterance, starting with the k-th, of the corpus's
utterances **sorted by id**: the order depends only on the ids, never on the order in which a
file system lists files or a manifest lists rows, so that a shard holds the same utterances on
every machine and in every run, and the N shards hold every utterance exactly once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from whisperbench.datasets import Corpus, Utterance
from whisperbench.results.records import shard_label

__all__ = ["Shard", "shard_corpus", "shard_in_id", "shard_suffix", "shards_of"]

_SHARD_ID = re.compile(r"-shard(\d+)of(\d+)\]$")
"""The end of a sharded case's test ID (``...-shard2of4]``)."""


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (1 to ``count``) of a corpus split ``count`` ways."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not 1 <= self.index <= self.count:
            raise ValueError(f"shard {self.index} of {self.count}: give 1 to {self.count}")

    @property
    def label(self) -> str:
        """``shard2of4``: the end of a sharded case's ID."""
        return shard_label(self.index, self.count)

    def select(self, utterances: Sequence[Utterance]) -> tuple[Utterance, ...]:
        """This shard's utterances: every ``count``-th of them by id, from the ``index``-th."""
        ordered = sorted(utterances, key=lambda utterance: utterance.id)
        return tuple(ordered[self.index - 1 :: self.count])


def shards_of(count: int) -> tuple[Shard, ...]:
    """The shards of a corpus split ``count`` ways, in order."""
    return tuple(Shard(index, count) for index in range(1, count + 1))


def shard_suffix(shard: Shard | None) -> str:
    """What a sharded case's ID and subject end with (nothing for a whole corpus)."""
    return "" if shard is None else f"-{shard.label}"


def shard_corpus(corpus: Corpus, shard: Shard) -> Corpus:
    """The part of ``corpus`` that ``shard`` holds (its skipped and unscored items stay those of
    the whole corpus: they are counted once, with it)."""
    return replace(corpus, utterances=shard.select(corpus.utterances))


def shard_in_id(test_id: str) -> Shard | None:
    """The shard a test ID names (``test_corpus[fake-tiny.en-corpus-shard2of4]``); None for the
    ID of any other test."""
    found = _SHARD_ID.search(test_id)
    if found is None:
        return None
    index, count = int(found[1]), int(found[2])
    return Shard(index, count) if 1 <= index <= count else None
