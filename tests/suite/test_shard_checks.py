"""``--shards`` that cannot split the session is one line naming the problem and the fix, a
usage error (exit status 4) before anything runs; ``--shards 1`` is the unsharded session,
with its case IDs unchanged."""

from __future__ import annotations

import pytest
from helpers.suite_sessions import REPO, copy_benchmarks, run_suite

from whisperbench.datasets import FIXTURE_REALSPEECH_DIR

SHORT = REPO / "src" / "whisperbench" / "data" / "audio" / "short.flac"


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (
            ("--shards=0", "--clips=corpus"),
            "--shards 0: give a whole number of at least 1 (the shards each corpus is split "
            "into; 1: the corpus runs whole)",
        ),
        (
            ("--shards=2", "--clips=short"),
            "--shards 2 splits corpus cases, and this session has none: give --dataset PATH or "
            "--clips real (or corpus), or leave out --shards",
        ),
        (
            ("--shards=2", "--clips=short,corpus"),
            "--shards 2 splits corpus cases only, and --clips gives clip cases (short), which "
            "are not split: run them in a session without --shards, or leave them out",
        ),
        (
            ("--shards=2", f"--audio={SHORT}", f"--dataset={FIXTURE_REALSPEECH_DIR}"),
            "--shards 2 splits corpus cases only, and --audio gives clip cases (short)",
        ),
        (
            ("--shards=38", "--clips=real"),
            "--shards 38: corpus realspeech has 37 utterance(s), fewer than the shards; give "
            "--shards 37 or fewer",
        ),
        (
            ("--shards=9", "--clips=corpus", "--dataset-limit=8"),
            "--shards 9: corpus corpus-first8 has 8 utterance(s), fewer than the shards; give "
            "--shards 8 or fewer",
        ),
    ],
)
def test_shards_that_cannot_split_the_session_are_one_usage_error(
    pytester: pytest.Pytester, args: tuple[str, ...], problem: str
) -> None:
    copy_benchmarks(pytester)
    result = run_suite(pytester, "--implementations=fake", "--device=cpu", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    (line,) = [line for line in result.errlines if line.strip()]
    assert line == f"ERROR: {problem}" or line.startswith(f"ERROR: {problem}")


def test_one_shard_is_the_unsharded_session(pytester: pytest.Pytester) -> None:
    copy_benchmarks(pytester)
    ids = {}
    for given in ((), ("--shards=1",)):
        result = run_suite(
            pytester,
            "--implementations=fake",
            "--device=cpu",
            "--clips=short,corpus",
            "--collect-only",
            "-q",
            *given,
        )
        assert result.ret == pytest.ExitCode.OK
        ids[given] = [line for line in result.outlines if "::" in line]
    assert ids[()] == ids[("--shards=1",)]
    assert ids[()] == [
        "test_load.py::test_load[fake-tiny.en]",
        "test_corpus.py::test_corpus[fake-tiny.en-corpus]",
        "test_transcribe.py::test_transcribe[fake-tiny.en-short]",
    ]


def test_the_default_clips_of_a_sharded_session_are_its_corpus(
    pytester: pytest.Pytester,
) -> None:
    """The default ``--clips`` (short and real) runs only its corpus when sharded."""
    copy_benchmarks(pytester)
    result = run_suite(
        pytester, "--implementations=fake", "--device=cpu", "--shards=3", "--collect-only", "-q"
    )
    assert result.ret == pytest.ExitCode.OK
    assert [line.rpartition("::")[2] for line in result.outlines if "::" in line] == [
        "test_load[fake-tiny.en]",
        "test_corpus[fake-tiny.en-realspeech-shard1of3]",
        "test_corpus[fake-tiny.en-realspeech-shard2of3]",
        "test_corpus[fake-tiny.en-realspeech-shard3of3]",
    ]
