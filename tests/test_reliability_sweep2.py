"""Issue 27, the second sweep: measured results are never lost to a full disk, a kill or a
pipe, and no input is used, dropped or doubled without a word.

As for issue 14 (``test_reliability.py``): real files, real pytest sessions (in-process with
``pytester`` where nothing but the session's own output matters, real subprocesses where a
signal, a pipe or an encoding of the process is the point), the ``fake`` engine (a real engine
that needs no weights) and the test-only plugin ``fault_injection``. The full disk and the
read-only storage are real file systems (a ``tmpfs`` mounted with a size limit, or read-only);
where this machine does not allow mounting one, a full disk is an ``OSError`` (ENOSPC) injected
at the write (``atomic_write.write_file``, the one place results files are written), and a
read-only one a folder made unwritable; the tests say which in a warning.
"""

from __future__ import annotations

import io
import json
import os
import pty
import shutil
import signal
import subprocess
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from helpers.bench_runs import suite_env
from helpers.fault_injection import no_space
from helpers.fault_sessions import (
    FAKE,
    REPO,
    SHORT,
    B,
    Bench,
    cli,
    make_bench,
    one_usage_error,
    saved,
    subprocess_suite,
    unwritable,
    write_clip,
)

from whisperbench import atomic_write
from whisperbench.atomic_write import write_atomic
from whisperbench.cli import main
from whisperbench.history import load_history, load_run
from whisperbench.run_record import RUN_KEY
from whisperbench.safe_output import SafeStream, plain
from whisperbench.suite.compare_guard import unlike_pairs
from whisperbench.suite.progress import redraws_in_place
from whisperbench.suite.session_signals import SignalGuard, Terminated

DOTS = "... !?! -- ;;; ..."
"""The issue's reference: nothing once normalised but a lone ``.``."""


@pytest.fixture
def bench(pytester: pytest.Pytester) -> Bench:
    return make_bench(pytester)


def _mount(folder: Path, *options: str) -> str | None:
    """Mount a ``tmpfs`` at ``folder``: None, or why this machine does not allow it
    (``WHISPERBENCH_TEST_NO_MOUNT=1`` takes the other path where it does)."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.environ.get("WHISPERBENCH_TEST_NO_MOUNT"):
        return "WHISPERBENCH_TEST_NO_MOUNT is set"
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(folder)],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as exc:  # no mount command
        return str(exc)
    return None if done.returncode == 0 else done.stderr.strip() or f"status {done.returncode}"


@contextmanager
def small_disk(
    folder: Path, size: int, monkeypatch: pytest.MonkeyPatch | None = None
) -> Iterator[bool]:
    """A disk of ``size`` bytes at ``folder``: a real ``tmpfs`` where this machine allows
    mounting one (True); else a plain folder where every write of a results file that would
    pass ``size`` fails with ENOSPC (False): an ``OSError`` injected at
    ``atomic_write.write_file`` (``fault_injection.no_space``; in this process with
    ``monkeypatch``, else the subprocess's own), said in a warning."""
    why = _mount(folder, f"size={size}")
    if why is None:
        try:
            yield True
        finally:
            subprocess.run(["umount", "-l", str(folder)], check=False)
        return
    warnings.warn(
        f"no small file system can be mounted here ({why}): the full disk is an OSError "
        "(ENOSPC) injected at whisperbench.atomic_write.write_file",
        stacklevel=3,
    )
    folder.mkdir(parents=True, exist_ok=True)
    if monkeypatch is not None:
        monkeypatch.setattr(atomic_write, "write_file", no_space(folder, size))
    yield False


@contextmanager
def read_only(folder: Path) -> Iterator[str]:
    """A folder that cannot be written, and the reason the suite gives: a read-only ``tmpfs``
    where mounting is allowed, else a folder made unwritable by its mode (or ``chattr +i``)."""
    why = _mount(folder, "ro", "size=1m")
    if why is None:
        try:
            yield "read-only file system"
        finally:
            subprocess.run(["umount", "-l", str(folder)], check=False)
        return
    folder.rmdir()
    with unwritable(folder):
        yield "permission denied"


def store(storage: Path) -> tuple[str, str]:
    return f"--benchmark-storage=file://{storage}", "--benchmark-autosave"


def transcribed(storage: Path) -> list[object]:
    (run,) = load_history(storage).runs
    return [case.result for case in run.cases if case.key.kind == "transcribe"]


# --- bad 1: a reference with no words ----------------------------------------------------------


def test_bad_1_a_reference_with_no_words_gets_no_wer_and_a_warning(
    bench: Bench, tmp_path: Path
) -> None:
    """On d7e37e6 the clip was saved with WER 2400% (the lone ``.`` as one reference word, 23
    insertions) and no warning. The manifest and dataset paths are in ``test_datasets.py``."""
    clip = write_clip(tmp_path / "audio", "dots.flac", DOTS)
    storage = tmp_path / "storage"
    result = bench(*FAKE, f"--audio={clip}", *store(storage))
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [f"whisperbench: warning: {clip.with_suffix('.txt')}: the reference transcript holds no "
         "words once normalised ('... !?! -- ;;; ...'), so this clip gets no WER*"]
    )  # fmt: skip
    (result_,) = transcribed(storage)
    assert getattr(result_, "wer", "absent") is None


def test_bad_1_a_manifest_utterance_without_words_is_not_scored_and_named(
    bench: Bench, tmp_path: Path
) -> None:
    """The same reference in a manifest: the utterance runs unscored, said in a line; the
    corpus WER is that of the utterance that has words."""
    good = write_clip(tmp_path / "audio", "good.flac")
    lines = [{"audio": str(good), "text": "Good morning.", "id": "good"}]
    lines.append({"audio": str(good), "text": DOTS, "id": "dots"})
    manifest = tmp_path / "set.jsonl"
    manifest.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    result = bench(*FAKE, f"--dataset={manifest}", "-s")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["whisperbench: corpus set: dots: not scored: its reference holds no words once "
         "normalised ('... !?! -- ;;; ...'), so it gets no WER"]
    )  # fmt: skip
    result.stdout.fnmatch_lines(["whisperbench: corpus *: 2 utterances*over 1 with a reference*"])


# --- bad 2 and 3: a storage that cannot take the run --------------------------------------------


def test_bad_2_a_read_only_storage_is_one_usage_line_before_any_model_loads(
    bench: Bench, tmp_path: Path
) -> None:
    """On d7e37e6 both cases were measured, then a 73-line ``OSError: Read-only file system``
    traceback lost them. Now the session stops at its options (``B``: transformers, whose
    model is never loaded)."""
    readonly = tmp_path / "ro"
    with read_only(readonly):
        storage = readonly / "benchmarks"
        one_usage_error(
            bench(*B, *store(storage)),
            f"the benchmark storage {storage} cannot be created: {readonly} cannot be written",
            "pass a folder that can be written with --benchmark-storage",
        )


def test_bad_2_a_benchmark_json_or_machine_folder_that_cannot_be_written_is_one_usage_line(
    bench: Bench, tmp_path: Path
) -> None:
    """``--benchmark-json`` is a results file too, and the run goes into the storage's
    machine folder: both are checked before anything runs."""
    readonly = tmp_path / "ro"
    with read_only(readonly) as why:
        one_usage_error(
            bench(*B, f"--benchmark-json={readonly / 'out.json'}"),
            f"the --benchmark-json file's folder {readonly} cannot be written ({why}): the "
            "results could not be written; pass another --benchmark-json",
        )
    one_usage_error(bench(*B, f"--benchmark-json={tmp_path}"), f"{tmp_path} is a folder")
    storage = tmp_path / "storage"
    storage.mkdir()
    from pytest_benchmark.utils import get_machine_id

    (storage / get_machine_id()).write_text("a file where the machine's runs go")
    one_usage_error(
        bench(*B, *store(storage)),
        f"the benchmark storage's machine folder {storage / get_machine_id()} is a file",
    )


def test_bad_2_a_storage_without_room_for_a_run_file_is_one_usage_line(
    bench: Bench, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = tmp_path / "small"
    with small_disk(small, 256 * 1024, monkeypatch):
        one_usage_error(
            bench(*B, *store(small)),
            f"the benchmark storage {small} cannot take a run file (No space left on device)",
        )
        assert [p.name for p in small.iterdir()] == []  # the probe is gone


@pytest.mark.slow
def test_bad_3_a_disk_that_fills_during_the_session_keeps_the_run_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real full disk: the storage is a 2 MiB ``tmpfs`` that passes the start-up check, then
    ``fault_injection`` fills it as the session saves (where no ``tmpfs`` can be mounted, the
    writes under it fail with ENOSPC from then on). On d7e37e6: a 58-line traceback, no
    results, and a 0-byte run file that ``check-regressions`` skipped as empty, exiting 0. Now
    the table prints, nothing is left in the storage, the run goes to the fallback file the
    line names, and the session exits 1; moved into the storage, it is a whole run."""
    fallback_root = tmp_path / "tmp"
    fallback_root.mkdir()
    disk = tmp_path / "disk"
    with small_disk(disk, 2 * 2**20) as real:
        storage = disk / "benchmarks"
        fill = "WHISPERBENCH_TEST_FILL_DISK" if real else "WHISPERBENCH_TEST_NO_SPACE"
        done = subprocess_suite(
            *FAKE, "--clips=short", *store(storage), f"--benchmark-json={disk / 'all.json'}",
            inject={fill: str(disk), "TMPDIR": str(fallback_root)},
        )  # fmt: skip
        output = done.stdout + done.stderr
        assert done.returncode == 1, output
        assert "Traceback" not in output and "fake-tiny.en-short" in output  # the table
        assert saved(storage) == [] and not any(p.suffix == ".tmp" for p in disk.rglob("*"))
        assert not (disk / "all.json").exists()
        # --benchmark-json's file falls back too, and does not keep the run from its try
        json_fallback = fallback_root / "whisperbench-unsaved" / "all.json"
        assert (
            f"whisperbench: error: the run could not be saved as {disk / 'all.json'} (No space "
            f"left on device); it was saved as {json_fallback} instead"
        ) in output
        assert len(json.loads(json_fallback.read_text())["benchmarks"]) == 2
        (fallback,) = fallback_root.glob("whisperbench-unsaved/*/*.json")
        line = next(line for line in output.splitlines() if "could not be saved" in line)
        assert line.startswith(
            f"whisperbench: error: the run could not be saved as {storage / fallback.parent.name}"
        )
        assert f"(No space left on device); it was saved as {fallback} instead" in line
        if real:
            (disk / "ballast").unlink()
        shutil.move(fallback, storage / fallback.parent.name / fallback.name)
        run = load_run(storage / fallback.parent.name / fallback.name)
        assert run.complete and len(run.cases) == 2


def test_bad_3_an_unreadable_newer_run_file_fails_the_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bench: Bench
) -> None:
    """What an older version left on a full disk (a 0-byte ``0002_...json``) is no longer
    passed over: the check fails, naming it."""
    storage = tmp_path / "storage"
    bench(*FAKE, "--clips=short", *store(storage)).assert_outcomes(passed=2)
    (first,) = saved(storage)
    empty = first.with_name("0002" + first.name[4:])
    empty.touch()
    code, out, _ = cli(capsys, "check-regressions", "--storage", storage)
    assert code == 1, out
    assert out[-1] == (
        f"FAILED: {empty} is newer than run 0001 but cannot be read (empty file): its session "
        "did not finish saving it; rerun the suite, or move the file away to judge run 0001"
    )
    # a run file of the wrong shapes (hand-edited, another tool's): its benchmarks are left
    # out with a line each, never a traceback, in every command that reads the storage
    data = json.loads(first.read_text())
    data["benchmarks"][0]["stats"] = None
    data["benchmarks"][1]["stats"] = {"median": "fast"}
    data["benchmarks"].append("not a benchmark")
    empty.write_text(json.dumps(data))
    for argv, status in (
        (("check-regressions", "--storage", storage), 1),  # run 0002 lacks every case
        (("compare", "1", "2", "--storage", storage), 0),
        # md only: matplotlib first imported in a pytester test is a second copy in the next
        (("report", "--storage", storage, "--output", tmp_path / "report", "--format", "md"), 0),
    ):
        code, out, err = cli(capsys, *argv)
        assert code == status and not any("Traceback" in line for line in out + err), err
        assert any("3 benchmark(s) left out: test_load[fake-tiny.en]: no 'stats'" in line
                   for line in err), err  # fmt: skip


def test_bad_3_a_run_file_is_written_whole_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = tmp_path / "disk"
    with small_disk(disk, 64 * 1024, monkeypatch):
        target = disk / "0001_run.json"
        write_atomic(target, "{}")
        with pytest.raises(OSError, match="No space left on device") as raised:
            write_atomic(target, "x" * 200_000)
        assert raised.value.filename == str(target)
        assert [p.name for p in disk.iterdir()] == ["0001_run.json"]
        assert target.read_text() == "{}"  # the old file, whole


# --- bad 4: SIGTERM and SIGHUP -----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", ["TERM", "HUP"])
def test_bad_4_sigterm_and_sighup_save_the_finished_cases_as_an_incomplete_run(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real signal in the first timed round of the second clip (transcription 3: the cold
    run and round 1 of ``short``, then the cold run of ``medium``... counted per model). On
    d7e37e6 pytest died with 143, printed nothing and saved nothing, and check-regressions
    judged the older run (exit 0)."""
    storage = tmp_path / "storage"
    cut = subprocess_suite(
        *FAKE, "--clips=short,medium,long", *store(storage),
        inject={"WHISPERBENCH_TEST_INTERRUPT_AT": "3", "WHISPERBENCH_TEST_SIGNAL": name},
    )  # fmt: skip
    output = cut.stdout + cut.stderr
    assert cut.returncode == pytest.ExitCode.INTERRUPTED, output
    assert "│ fake-tiny.en-short " in output  # the finished cases' table
    assert (
        f"whisperbench: the session was interrupted (SIG{name}): 2 of 4 cases measured, 2 not "
        "run; the saved run is marked incomplete, and check-regressions fails on it"
    ) in output
    (newest,) = saved(storage)
    record = json.loads(newest.read_text())[RUN_KEY]
    assert (record["complete"], record["stopped"]) == (False, f"interrupted (SIG{name})")
    assert len(record["measured"]) == 2
    code, out, _ = cli(capsys, "check-regressions", "--storage", storage)
    assert code == 1
    assert f"FAILED: run 0001 is incomplete: interrupted (SIG{name}): 2 of 4 cases measured" in (
        "\n".join(out)
    )


@pytest.mark.slow
def test_bad_4_a_kill_before_any_case_is_timed_still_saves_the_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SIGTERM in the cold run of the only case: pytest-benchmark saves nothing without a timed
    benchmark, so the older run would be judged as the newest. The record is saved instead."""
    storage = tmp_path / "storage"
    options = (*FAKE, "--clips=short", "-k", "transcribe", *store(storage))
    cut = subprocess_suite(
        *options,
        inject={"WHISPERBENCH_TEST_INTERRUPT_AT": "1", "WHISPERBENCH_TEST_SIGNAL": "TERM"},
    )
    assert cut.returncode == pytest.ExitCode.INTERRUPTED, cut.stdout + cut.stderr
    (path,) = saved(storage)
    newest = load_run(path)
    assert newest.cases == () and not newest.complete
    code, out, _ = cli(capsys, "check-regressions", "--storage", storage)
    assert code == 1 and "FAILED: run 0001 is incomplete: interrupted (SIGTERM)" in "\n".join(out)
    # earlier still: while pytest collects the cases (a saving session takes the signals
    # from its start)
    cut = subprocess_suite(*options, inject={"WHISPERBENCH_TEST_SIGNAL_WHILE_COLLECTING": "HUP"})
    assert cut.returncode == pytest.ExitCode.INTERRUPTED, cut.stdout + cut.stderr
    assert len(saved(storage)) == 2
    code, out, _ = cli(capsys, "check-regressions", "--storage", storage)
    assert code == 1 and "FAILED: run 0002 is incomplete: interrupted (SIGHUP)" in "\n".join(out)


@pytest.mark.slow
def test_bad_4_sigterm_in_a_session_that_saves_nothing_still_prints_the_finished_cases() -> None:
    """Without ``--benchmark-autosave`` the measured cases are only in the table: SIGTERM
    ends the session as Ctrl-C does, with the table, instead of killing it silently (143)."""
    cut = subprocess_suite(
        *FAKE, "--clips=short,medium",
        inject={"WHISPERBENCH_TEST_INTERRUPT_AT": "3", "WHISPERBENCH_TEST_SIGNAL": "TERM"},
    )  # fmt: skip
    output = cut.stdout + cut.stderr
    assert cut.returncode == pytest.ExitCode.INTERRUPTED, output
    assert "test_transcribe[fake-tiny.en-short]" in output  # the finished case's row
    assert (
        "whisperbench: the session was interrupted (SIGTERM): 2 of 3 cases measured, 1 not run; "
        "nothing was saved"
    ) in output


def test_bad_4_signals_raise_once_then_wait_and_leave_an_ignored_one_alone() -> None:
    """Real signals to this process: the first SIGTERM interrupts, a second one (or any once
    the session saves) is only noted; SIGHUP ignored by ``nohup`` stays ignored; the handlers
    in place before come back."""
    before = (
        signal.getsignal(signal.SIGTERM),
        signal.getsignal(signal.SIGHUP),
        signal.getsignal(signal.SIGINT),
    )
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # Python's own Ctrl-C handler, as at a terminal: a process started in the background by a
    # shell without job control (`cmd &` in a script) inherits SIGINT ignored, left alone
    signal.signal(signal.SIGINT, signal.default_int_handler)
    guard = SignalGuard()
    try:
        guard.install()
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
        # raise_signal delivers to this thread, so the handler has run when it returns;
        # os.kill(getpid()) may land on another thread (xdist's), the handler a moment later
        with pytest.raises(Terminated, match="SIGTERM received"):
            signal.raise_signal(signal.SIGTERM)
        signal.raise_signal(signal.SIGTERM)  # noted, not raised
        guard.defer()
        signal.raise_signal(signal.SIGINT)  # Ctrl-C while saving: noted too
        assert guard.deferred == ["SIGTERM", "SIGINT"]
        guard.restore()
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        guard.restore()
        signal.signal(signal.SIGTERM, before[0])
        signal.signal(signal.SIGHUP, before[1])
        signal.signal(signal.SIGINT, before[2])


# --- bad 5: CLI errors are one line ---------------------------------------------------------


def test_bad_5_every_cli_error_is_one_line_with_status_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    bench: Bench,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On d7e37e6 ``report --output`` under a regular file was a 14-line NotADirectoryError
    with status 1."""
    storage = tmp_path / "storage"
    bench(*FAKE, "--clips=short", *store(storage)).assert_outcomes(passed=2)
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    for output, problem in (
        (afile / "report", f"the output folder {afile / 'report'} lies under {afile}, which is a "
                           "file; pass another folder with --output"),
        (afile, f"the output folder {afile} is a file; pass another folder with --output"),
    ):  # fmt: skip
        code, out, err = cli(capsys, "report", "--storage", storage, "--output", output)
        assert (code, out, err) == (2, [], [f"whisperbench report: error: {problem}"])
    with pytest.raises(SystemExit) as exited:
        cli(capsys, "report", "--window", "0")
    assert exited.value.code == 2
    (line,) = [line for line in capsys.readouterr().err.splitlines() if line]
    assert line == (
        "whisperbench report: error: argument --window: must be at least 1; see whisperbench "
        "report --help"
    )
    # an error that no check foresaw (a bug) is one line too; the traceback on request
    import whisperbench.commands.compare as compare_command

    def broken(args: object) -> int:
        raise TypeError("unsupported operand type(s) for +: 'int' and 'str'")

    monkeypatch.setattr(compare_command, "run", broken)
    code, out, err = cli(capsys, "compare", "1", "1", "--storage", storage)
    assert (code, err) == (2, [
        "whisperbench compare: error: unexpected TypeError: unsupported operand type(s) for +: "
        "'int' and 'str' (rerun with WHISPERBENCH_TRACEBACK=1 for the traceback, and report it)"
    ])  # fmt: skip
    monkeypatch.setenv("WHISPERBENCH_TRACEBACK", "1")
    with pytest.raises(TypeError):
        main(["compare", "1", "1", "--storage", str(storage)])
    full = tmp_path / "full"
    with small_disk(full, 64 * 1024, monkeypatch):
        (full / "ballast").write_bytes(b"\0" * 60_000)
        code, out, err = cli(capsys, "report", "--storage", storage, "--output", full)
        assert code == 2 and len(err) == 1, err
        assert err[0].startswith(f"whisperbench report: error: {full}/") and err[0].endswith(
            ": No space left on device"
        )


# --- weak: inputs repeated, ignored, overridden or empty ------------------------------------


def test_weak_inputs_repeated_or_made_moot_are_said_and_run_once(
    bench: Bench, tmp_path: Path
) -> None:
    result = bench(
        "--models=tiny.en,tiny.en", "--implementations=fake,fake", "--device=cpu",
        "--rounds=1", "--rounds=2", "--clips=short,short", "--dataset-limit=3",
        "--synthetic-tokens=4", "--vad", "--vad", "--dtype=float16", "--quantization=int8",
        "--benchmark-min-rounds=5",
    )  # fmt: skip
    result.assert_outcomes(passed=2)  # one load, one transcription
    assert "--vad is given" not in result.stdout.str()  # a flag twice overrides nothing
    result.stdout.fnmatch_lines_random(
        [
            # what the engine did not run as given: its own note, or what ran instead
            "whisperbench: warning: fake: the fake engine has no quantised mode; int8 was not "
            "applied",
            "whisperbench: warning: --dtype float16 was given, but fake ran float32",
            "whisperbench: warning: --vad was given, but fake ran without it",
            "whisperbench: warning: --benchmark-min-rounds is ignored: the suite times each case "
            "in a fixed number of rounds; use --rounds",
            "whisperbench: warning: --rounds is given 2 times; only the last ('2') is used",
            "whisperbench: warning: --implementations names fake more than once; it runs once",
            "whisperbench: warning: --models names tiny.en more than once; it runs once",
            "whisperbench: warning: --clips names short more than once; it runs once",
            "whisperbench: warning: --dataset-limit 3 is ignored: no corpus is given (--dataset, "
            "or --clips corpus)",
            "whisperbench: warning: --synthetic-tokens 4 is ignored: it counts only with "
            "--synthetic",
        ]
    )


def test_weak_a_corpus_given_twice_runs_once(bench: Bench, tmp_path: Path) -> None:
    """The same manifest twice (spelled two ways): a line, one corpus case; ``--dataset`` is
    repeatable, so it is not said to be overridden."""
    clip = write_clip(tmp_path / "audio", "one.flac")
    manifest = tmp_path / "set.jsonl"
    manifest.write_text(json.dumps({"audio": str(clip), "text": "Good morning."}) + "\n")
    again = tmp_path / "audio" / ".." / "set.jsonl"
    result = bench(*FAKE, f"--dataset={manifest}", f"--dataset={again}", "--dataset-limit=5", "-s")
    result.assert_outcomes(passed=2)  # one load, one corpus
    result.stdout.fnmatch_lines_random(
        [
            f"whisperbench: warning: --dataset {again} is given more than once; it runs once",
            "whisperbench: warning: corpus set-first5: --dataset-limit 5 is more than the 1 "
            "utterance(s) it could read; all of them run",
        ]
    )
    assert "--dataset is given" not in result.stdout.str()


@pytest.mark.parametrize(
    ("option", "problem"),
    [
        ("--cache-dir=", "--cache-dir names no folder (an empty value)"),
        ("--benchmark-storage=file://", "--benchmark-storage names no folder (an empty value)"),
    ],
)
def test_weak_an_empty_path_is_a_usage_error_not_the_current_folder(
    bench: Bench, option: str, problem: str
) -> None:
    """``--cache-dir "$UNSET"`` was the default cache, and an empty storage the current
    folder, without a word."""
    one_usage_error(bench(*FAKE, option, "--benchmark-autosave"), problem)


def test_weak_an_empty_path_is_one_line_in_the_commands(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for argv in (
        ("report", "--output", ""),
        ("check-regressions", "--storage", ""),
        ("check-models", "--cache-dir", " "),
    ):
        with pytest.raises(SystemExit) as exited:
            main(list(argv))
        (line,) = [line for line in capsys.readouterr().err.splitlines() if line]
        assert exited.value.code == 2 and f"argument {argv[1]}: names no " in line, line


def test_weak_a_corpus_budget_out_of_range_is_a_usage_error(bench: Bench) -> None:
    for budget in ("-1", "nan", "inf"):
        one_usage_error(bench(*FAKE, f"--corpus-budget={budget}"), "--corpus-budget ")


def test_weak_an_audio_folder_says_what_it_does_not_read(bench: Bench, tmp_path: Path) -> None:
    """A folder's subfolder, a file that is not audio, a transcript with no audio, and two
    files whose clips would share a name (``a.wav`` and ``a.flac``) or a test ID (``café`` and
    ``cafe``): each gets a line, the first of a clash runs; ``--clips`` beside it is said to be
    ignored."""
    folder = tmp_path / "audio"
    for name in ("a.flac", "a.wav", "cafe.flac", "café.flac"):
        write_clip(folder, name)
    (folder / "sub").mkdir()
    (folder / "notes.m4a").write_bytes(b"\0" * 100)
    (folder / "orphan.txt").write_text("no audio of this name\n")
    result = bench(*FAKE, f"--audio={folder}", "--clips=medium")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines_random(
        [
            f"whisperbench: input left out: {folder / 'a.wav'}: left out: a.flac gives its clip "
            "the same name; rename one",
            f"whisperbench: input left out: {folder / 'café.flac'}: left out: cafe.flac gives its "
            "clip the same test ID part (cafe); rename one",
            f"whisperbench: warning: {folder / 'sub'}: ignored: --audio reads the files of one "
            "folder, not its subfolders",
            f"whisperbench: warning: {folder / 'notes.m4a'}: ignored: not an audio file *",
            f"whisperbench: warning: {folder / 'orphan.txt'}: ignored: a transcript with no audio "
            "file of its name beside it",
            "whisperbench: warning: --clips medium is ignored: --audio gives the clips*",
        ]
    )


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        (("--implementations=,",), "--implementations names nothing to run; give an "),
        (("--implementations=fake", "--clips=,"), "--clips names nothing to run; give one of "),
        (("--implementations=fake", "--audio="), "--audio names no file; give an audio file "),
    ],
)
def test_weak_an_input_list_that_names_nothing_is_a_usage_error(
    bench: Bench, options: tuple[str, ...], problem: str
) -> None:
    one_usage_error(bench("--models=tiny.en", "--device=cpu", *options), problem)


def test_weak_a_manifest_with_no_usable_line_is_a_usage_error(bench: Bench, tmp_path: Path) -> None:
    """On d7e37e6 a manifest whose every line was bad gave a skipped case and exit 0; an
    ``--audio`` folder with no usable file has always been a usage error."""
    manifest = tmp_path / "bad.jsonl"
    manifest.write_text('{"audio": "missing.flac", "text": "gone"}\n{"text": "no audio"}\n')
    one_usage_error(
        bench(*FAKE, f"--dataset={manifest}"),
        f"--dataset {manifest}: no usable utterance: missing: {tmp_path / 'missing.flac'}: No such "
        "file or directory (and 1 more)",
    )


def test_weak_a_corpus_none_of_whose_files_decodes_fails_its_case(
    bench: Bench, tmp_path: Path
) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "one.flac").write_text("not audio at all\n")
    (folder / "one.txt").write_text("one\n")
    result = bench(*FAKE, f"--dataset={folder}")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*corpus broken (*): no readable utterance (1 item(s) skipped)*"])


# --- weak: pytest-benchmark's comparison across configurations --------------------------------


def test_weak_benchmark_compare_across_configurations_is_said_and_not_judged(
    bench: Bench, tmp_path: Path
) -> None:
    storage = tmp_path / "storage"
    bench(*FAKE, "--clips=short", "--batch-size=2", *store(storage)).assert_outcomes(passed=2)
    result = bench(
        *FAKE, "--clips=short", "--batch-size=4", f"--benchmark-storage=file://{storage}",
        "--benchmark-compare", "--benchmark-compare-fail=min:0.000001",
    )  # fmt: skip
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(
        ["whisperbench: warning: --benchmark-compare: *test_transcribe[[]fake-tiny.en-short[]] "
         "ran in another configuration in 0001_*.json (batch_size 2 -> 4): not like for like, so "
         "--benchmark-compare-fail does not judge it; whisperbench compare shows the change"]
    )  # fmt: skip


def test_weak_unlike_pairs_are_found_by_the_speed_parameters(tmp_path: Path) -> None:
    def extra(batch: int, dtype: str) -> dict[str, object]:
        return {
            "kind": "load", "implementation": "fake", "model": "tiny.en", "load_s": 0.1,
            "params": {"device": "cpu", "dtype": dtype, "batch_size": batch},
        }  # fmt: skip

    current = {"a": extra(8, "float32"), "b": extra(8, "float32"), "c": {"not": "ours"}}
    compared = {"a": {"extra_info": extra(8, "float32")}, "b": {"extra_info": extra(4, "float16")}}
    compared["c"] = {"extra_info": extra(1, "float16")}
    assert unlike_pairs(current, compared) == [
        ("b", ("dtype float16 -> float32", "batch_size 4 -> 8"))
    ]


# --- weak: pipes and terminals ----------------------------------------------------------------


def run_to_a_closed_pipe(command: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    """``command`` writing its stdout into a pipe whose reader has left (as after ``| head
    -1``): every write meets a broken pipe."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        return subprocess.run(
            command, cwd=REPO, stdout=writer, stderr=subprocess.PIPE, text=True,
            env=suite_env(**env), timeout=300, check=False,
        )  # fmt: skip
    finally:
        os.close(writer)


@pytest.mark.slow
def test_weak_a_broken_pipe_keeps_the_run_and_the_verdict(tmp_path: Path) -> None:
    """``pytest benchmarks/ --benchmark-autosave | head -1`` died with 1 and saved nothing;
    ``check-regressions | head -1`` exited 1, which means a regression."""
    storage = tmp_path / "storage"
    suite = [sys.executable, "-m", "pytest", "benchmarks/", "-p", "helpers.fault_injection"]
    suite += ["-p", "no:cacheprovider", *FAKE, "--clips=short", *store(storage)]
    done = run_to_a_closed_pipe(suite)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert len(saved(storage)) == 1
    check = [sys.executable, "-m", "whisperbench.cli", "check-regressions"]
    check += ["--storage", str(storage)]
    done = run_to_a_closed_pipe(check)
    assert (done.returncode, done.stderr) == (0, "")
    cut = run_to_a_closed_pipe(
        suite, WHISPERBENCH_TEST_INTERRUPT_AT="2", WHISPERBENCH_TEST_SIGNAL="TERM"
    )
    assert cut.returncode == pytest.ExitCode.INTERRUPTED and len(saved(storage)) == 2
    done = run_to_a_closed_pipe(check)
    assert (done.returncode, done.stderr) == (1, "")  # the verdict: an incomplete newest run


@pytest.mark.slow
def test_weak_an_ascii_only_stdout_gets_plain_tables(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    done = subprocess_suite(
        *FAKE, "--clips=short", *store(storage), inject={"PYTHONIOENCODING": "ascii"}
    )
    assert done.returncode == 0 and "UnicodeEncodeError" not in done.stderr, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| fake-tiny.en-short ")]
    assert rows, done.stdout  # the results table's row, drawn in ASCII


def test_weak_an_ascii_only_stdout_gets_plain_text_from_the_commands(
    tmp_path: Path,
    bench: Bench,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``compare`` writes Δ, ≠ and box drawing; into a real ASCII text stream they become
    ``d``, ``!=`` and ``+-|``, with no UnicodeEncodeError."""
    storage = tmp_path / "storage"
    bench(*FAKE, "--clips=short", *store(storage)).assert_outcomes(passed=2)
    raw = io.BytesIO()
    ascii_out = io.TextIOWrapper(raw, encoding="ascii", write_through=True)
    monkeypatch.setattr(sys, "stdout", ascii_out)
    assert main(["compare", "1", "1", "--storage", str(storage)]) == 0
    text = raw.getvalue().decode("ascii")
    assert "d Time" in text and "!= the configuration changed" in text and "| load fake" in text


def test_weak_plain_fallbacks_and_a_quiet_broken_pipe() -> None:
    assert plain("┏━┳┓ Δ time … café ≠ 日本 ━━──") == "+--+ d time ... cafe != ?? ----"
    reader, writer = os.pipe()
    os.close(reader)
    stream = SafeStream(open(os.dup(writer), "w", encoding="utf-8"))  # noqa: SIM115
    os.close(writer)
    stream.write("x" * 100_000)
    stream.flush()  # the reader left: noted, and nothing raised
    assert stream.broken and not stream.isatty()
    assert stream.write("more") == 4
    # a terminal that hung up (SIGHUP: the window closed) fails each write with EIO
    master, follower = pty.openpty()
    os.close(master)
    terminal = SafeStream(open(follower, "w", encoding="utf-8"))  # noqa: SIM115
    terminal.write("the table\n")
    terminal.flush()
    assert terminal.broken


def test_weak_a_command_started_without_a_stdout_still_says_its_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``whisperbench check-regressions >&-``: Python has no ``sys.stdout`` then."""
    monkeypatch.setattr(sys, "stdout", None)
    assert main(["check-regressions", "--storage", str(tmp_path / "none")]) == 2
    assert capsys.readouterr().err.startswith("whisperbench check-regressions: error: no benchmark")


def test_weak_term_dumb_is_never_redrawn_in_place() -> None:
    """Under ``TERM=dumb`` the progress line is a line per redraw, without ``\\r`` and
    ``ESC[K`` (``ProgressLine(inline=False)``, tested in ``test_progress.py``)."""
    assert redraws_in_place(True, "xterm-256color")
    assert not redraws_in_place(True, "dumb")
    assert not redraws_in_place(False, "xterm")


# --- weak: long and non-ASCII names ------------------------------------------------------------


def test_weak_long_names_are_cut_in_tables_never_the_numbers_and_ids_stay_ascii(
    bench: Bench, tmp_path: Path
) -> None:
    """A 250-character file name squeezed every number column of the table to nothing; a
    non-ASCII name was escaped in the test ID (``caf\\xe9``). The saved clip keeps its name."""
    folder = tmp_path / "audio"
    long_name = "a" * 120 + "-middle-" + "z" * 118 + "-end"
    write_clip(folder, long_name + ".flac")
    write_clip(folder, "Ünïcödé clip.flac")
    storage = tmp_path / "storage"
    result = bench(*FAKE, f"--audio={folder}", *store(storage))
    result.assert_outcomes(passed=3)
    out = result.stdout.str()
    assert "test_transcribe[fake-tiny.en-Unicode clip]" in out or "Unicode clip" in out
    row = next(line for line in result.stdout.lines if "-end │" in line)
    assert "…" in row and "cpu" in row and "float32" in row
    cells = [cell.strip() for cell in row.split("│")[1:-1]]
    assert all(cells[1:]) and "…" not in "".join(cells[1:]), row  # every number whole
    names = {case.result.clip: case.name for case in load_history(storage).runs[0].cases
             if case.key.kind == "transcribe"}  # type: ignore[union-attr]  # fmt: skip
    assert names["Ünïcödé clip"] == "test_transcribe[fake-tiny.en-Unicode clip]"
    assert names[long_name] == f"test_transcribe[fake-tiny.en-{long_name}]"


def test_weak_a_wide_script_name_is_cut_by_the_cells_it_takes() -> None:
    """A clip's real name shows in ``compare`` and ``check-regressions``: CJK characters take
    two terminal cells each, and the cut keeps the name's end and the numbers whole."""
    from rich.console import Console
    from rich.table import Table

    from whisperbench.names import Name, shorten

    assert shorten("日本語abc", 5) == "日…bc" and shorten("abcdef", 4) == "ab…f"
    assert Name("two\nlines\tand a tab").shown == "two_lines_and a tab"  # one row still
    table = Table()
    table.add_column("Case")
    for header in ("Median s", "RTFx", "WER %", "Load s", "Peak RSS MB"):
        table.add_column(header, justify="right", no_wrap=True)
    table.add_row(Name("fake-tiny.en-" + "日本語の音声" * 20 + "-end"), "0.001", "13854.2",
                  "100.0", "0.00", "259")  # fmt: skip
    console = Console(width=80, file=io.StringIO(), force_terminal=False)
    console.print(table)
    (row,) = [line for line in console.file.getvalue().splitlines() if "-end" in line]
    assert "…" in row and row.endswith(
        "-end  │    0.001 │ 13854.2 │ 100.0 │   0.00 │         259 │"
    )


def test_weak_a_corpus_name_drops_accents_as_a_clip_name_does() -> None:
    from whisperbench.datasets import slug

    assert slug("données très longues") == "donnees_tres_longues"
    assert slug("日本語") == "dataset"  # nothing left: the corpus is named "dataset"


def test_weak_a_file_name_that_is_not_utf8_runs_and_is_said_plainly(
    bench: Bench, tmp_path: Path
) -> None:
    """A name copied from another system (Latin-1 bytes): soundfile opens it by its bytes,
    the test ID and the table show ``_`` for the byte, and no line about it fails to print."""
    folder = tmp_path / "audio"
    folder.mkdir()
    shutil.copy(SHORT, os.fsencode(folder) + b"/caf\xe9 clip.flac")
    (folder / os.fsdecode(b"notes\xff.xyz")).write_text("not audio")
    result = bench(*FAKE, f"--audio={folder}")
    result.assert_outcomes(passed=2)
    out = result.stdout.str()
    assert "test_transcribe[fake-tiny.en-caf_ clip]" in out or "fake-tiny.en-caf_ clip" in out
    assert "ignored: not an audio file" in out and "Traceback" not in out
