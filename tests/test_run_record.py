"""``run_record``: a session's account of its cases, saved with the run and read back."""

from __future__ import annotations

import json

from whisperbench.run_record import RunRecord, run_record

LOAD, SHORT, LONG = "test_load[x]", "test_transcribe[x-short]", "test_transcribe[x-long]"


def test_a_session_that_ran_every_case_is_complete() -> None:
    record = run_record(
        [LOAD, SHORT, LONG],
        [LOAD, SHORT],
        {LOAD: "passed", SHORT: "passed", LONG: "skipped"},
        {LONG: "no such clip"},
        stopped=None,
    )
    assert record.complete
    assert record.skipped == {LONG: "no such clip"} and record.not_run == ()
    assert record.describe() == "complete: 2 of 3 cases measured, 1 skipped"


def test_a_session_cut_short_says_what_never_ran() -> None:
    record = run_record(
        [LOAD, SHORT, LONG],
        [LOAD],
        {LOAD: "passed", SHORT: "failed"},
        {},
        stopped="stopped early (stopping after 1 failures)",
        rejected_inputs=["bad.wav: the file is empty"],
        untimed={LONG: {"kind": "batch_sweep", "out_of_memory": "MemoryError: no room"}},
    )
    assert not record.complete
    assert record.failed == (SHORT,) and record.not_run == (LONG,)
    assert record.describe() == (
        "stopped early (stopping after 1 failures): 1 of 3 cases measured, 1 not run, 1 failed"
    )
    again = RunRecord.from_json(json.loads(json.dumps(record.to_json())))
    assert again == record and again is not None and not again.complete


def test_an_interrupt_between_cases_leaves_none_unfinished_but_is_incomplete() -> None:
    record = run_record([LOAD], [LOAD], {LOAD: "passed"}, {}, stopped="interrupted (X)")
    assert record.not_run == () and not record.complete


def test_what_is_not_a_record_reads_as_none_and_odd_fields_as_empty() -> None:
    assert RunRecord.from_json(None) is None
    assert RunRecord.from_json(["complete"]) is None
    odd = RunRecord.from_json({"complete": False, "expected": "abc", "skipped": [1]})
    assert odd is not None
    assert odd.expected == () and odd.skipped == {} and not odd.complete and odd.untimed == {}
    untimed = RunRecord.from_json({"untimed": {"a": {"kind": "x"}, "b": "not a record"}})
    assert untimed is not None and untimed.untimed == {"a": {"kind": "x"}}
    assert odd.stopped == "incomplete"
