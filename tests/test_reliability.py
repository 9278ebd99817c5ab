"""Issue 14: every bad input and fault gets one clear line naming the problem and the fix, with
the right exit code; good inputs beside it still run; nothing is lost or half-written; a run cut
short never passes for a whole one.

One test per case of the issue, each run as the issue shows it (``B`` = ``--models tiny.en
--implementations transformers --clips short --rounds 1 --device cpu``), on real files, real
caches and real pytest sessions: in-process (``pytester``) where the fault shows before any
model loads, or with the ``fake`` engine (a real engine that needs no weights), and in real
subprocesses where a signal or concurrency is the point. ``fault_injection`` (a test-only
plugin) sends the Ctrl-C, fixes what the fake engine says and lines up concurrent saves.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from helpers.bench_runs import suite_env
from helpers.cache_helpers import TINY_TF, blob_of, copy_repos, make_fifo, replace_blob, repo_dir
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
from pytest_benchmark.utils import get_machine_id

from whisperbench import devices
from whisperbench.history import load_history, load_run
from whisperbench.run_record import RUN_KEY
from whisperbench.weights import inspect


@pytest.fixture
def bench(pytester: pytest.Pytester) -> Bench:
    return make_bench(pytester)


# --- 1. an interrupted run -------------------------------------------------------------------


@pytest.mark.slow
def test_1_a_run_interrupted_in_its_timed_rounds_is_saved_marked_incomplete_and_fails_the_check(
    bench: Bench, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C (a real SIGINT) in the first timed round of the transcription case. On main at
    291a0f4 this ended in ``ValueError: min() arg is an empty sequence`` and nothing was saved.
    Now the load case that finished is saved in a run marked incomplete, which
    check-regressions fails (unless --allow-partial) and the report marks."""
    storage = tmp_path / "storage"
    store = (f"--benchmark-storage=file://{storage}", "--benchmark-autosave")
    whole = bench(*FAKE, "--clips=short", "--rounds=3", *store)
    assert whole.ret == 0, whole.stdout.str()
    cut = subprocess_suite(
        *FAKE, "--clips=short", "--rounds=3", "--warmup-rounds=1", *store,
        inject={"WHISPERBENCH_TEST_INTERRUPT_AT": "2"},
    )  # fmt: skip
    output = cut.stdout + cut.stderr
    assert cut.returncode == pytest.ExitCode.INTERRUPTED, output
    assert "min() arg" not in output and "ValueError" not in output
    assert (
        "whisperbench: the session was interrupted (KeyboardInterrupt): 1 of 2 cases measured, "
        "1 not run; the saved run is marked incomplete, and check-regressions fails on it "
        "(--allow-partial accepts it)"
    ) in output
    first, second = saved(storage)
    data = json.loads(second.read_text())
    assert [bench["name"] for bench in data["benchmarks"]] == ["test_load[fake-tiny.en]"]
    assert data[RUN_KEY]["complete"] is False
    assert data[RUN_KEY]["stopped"] == "interrupted (KeyboardInterrupt)"
    assert data[RUN_KEY]["not_run"] == ["test_transcribe[fake-tiny.en-short]"]
    assert json.loads(first.read_text())[RUN_KEY]["complete"] is True

    code, out, _ = cli(capsys, "check-regressions", "--storage", storage)
    assert code == 1
    assert (
        "FAILED: run 0002 is incomplete: interrupted (KeyboardInterrupt): 1 of 2 cases measured, "
        "1 not run; rerun the suite, or pass --allow-partial to judge what it holds"
    ) in out
    assert any(
        line.startswith("missing from the newest run (not run: the session was interrupted")
        for line in out
    ), out
    code, out, _ = cli(capsys, "check-regressions", "--storage", storage, "--allow-partial")
    assert code == 0 and out[-1].startswith("OK: no regressions in run 0002"), out
    assert "accepted as partial: run 0002 is incomplete" in out[-1]
    report = tmp_path / "report"
    assert cli(capsys, "report", "--storage", storage, "--output", report, "--format", "md")[0] == 0
    summary = (report / "summary.md").read_text()
    assert (
        "- run 0002: interrupted (KeyboardInterrupt): 1 of 2 cases measured, 1 not run" in summary
    )


@pytest.mark.slow
def test_1_a_case_cut_short_after_a_timed_round_is_not_saved_as_a_measurement(
    tmp_path: Path,
) -> None:
    """Ctrl-C in the second of three timed rounds: on main at 291a0f4 the run was saved as a
    normal one holding a one-round "measurement" without whisperbench's fields. Now the case
    is left out and said to be not run."""
    storage = tmp_path / "storage"
    cut = subprocess_suite(
        *FAKE, "--clips=short", "--rounds=3", f"--benchmark-storage=file://{storage}",
        "--benchmark-autosave", inject={"WHISPERBENCH_TEST_INTERRUPT_AT": "3"},
    )  # fmt: skip
    assert cut.returncode == pytest.ExitCode.INTERRUPTED, cut.stdout + cut.stderr
    (path,) = saved(storage)
    run = load_run(path)
    assert [case.name for case in run.cases] == ["test_load[fake-tiny.en]"]
    assert run.ignored == () and run.record is not None
    assert run.record.not_run == ("test_transcribe[fake-tiny.en-short]",)


def test_1_a_session_stopped_by_x_is_saved_marked_incomplete(
    bench: Bench, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pytest -x``: the first transcription case fails (an empty transcript), the session
    stops; the run says which cases never ran."""
    monkeypatch.setenv("WHISPERBENCH_TEST_SAY", "")
    storage = tmp_path / "storage"
    result = bench(
        *FAKE, "--clips=short,medium", "-x",
        f"--benchmark-storage=file://{storage}", "--benchmark-autosave",
    )  # fmt: skip
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["whisperbench: the session was stopped early (stopping after 1 failures): 2 of 3 cases "
         "measured, 1 not run, 1 failed; the saved run is marked incomplete*"]
    )  # fmt: skip
    (run,) = load_history(storage).runs
    assert not run.complete and run.record is not None
    assert run.record.failed == ("test_transcribe[fake-tiny.en-short]",)
    assert run.record.not_run == ("test_transcribe[fake-tiny.en-medium]",)
    assert "INCOMPLETE" in run.label


# --- 2. a --cache-dir that cannot serve ------------------------------------------------------


def test_2_a_cache_dir_that_is_a_file_is_one_line_everywhere(
    bench: Bench, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    problem = f"the cache folder {afile} is a file; pass another folder with --cache-dir"
    one_usage_error(bench(*B, f"--cache-dir={afile}"), problem)
    for argv in (
        ("import-model", "--bundled", "tiny.en"),
        ("download", "--model", "tiny.en"),
        ("check-models", "--model", "tiny.en", "--verify-method", "cache-only"),
    ):
        code, out, err = cli(capsys, *argv, "--cache-dir", afile)
        assert code == 2 and out == [], out
        assert err == [f"whisperbench {argv[0]}: error: {problem}"]
    under = afile / "hub"
    code, _, err = cli(capsys, "import-model", "--bundled", "tiny.en", "--cache-dir", under)
    assert code == 2 and err[0].endswith(f"lies under {afile}, which is a file; pass another "
                                         "folder with --cache-dir")  # fmt: skip
    assert afile.read_text() == "not a folder"


def test_2_an_empty_cache_dir_that_cannot_be_written_is_one_line(
    bench: Bench, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with unwritable(tmp_path / "readonly") as folder:
        problem = f"the cache folder {folder} cannot be written (permission denied)"
        one_usage_error(bench(*B, f"--cache-dir={folder}"), problem)
        code, out, err = cli(capsys, "import-model", "--bundled", "tiny.en", "--cache-dir", folder)
        assert (code, out) == (2, [])
        assert err == [f"whisperbench import-model: error: {problem}; pass another folder with "
                       "--cache-dir"]  # fmt: skip
        assert list(folder.iterdir()) == []


# --- 3. --batch-size out of range ------------------------------------------------------------


@pytest.mark.parametrize("size", ["-1", "0", "100000"])
def test_3_a_batch_size_out_of_range_is_a_usage_error_naming_the_range(
    bench: Bench, size: str
) -> None:
    one_usage_error(
        bench(*B, f"--batch-size={size}"),
        f"--batch-size {size}: give a whole number from 1 to 1024",
    )


def test_3_the_bounds_themselves_run(bench: Bench) -> None:
    for size in ("1", "1024"):
        result = bench(*FAKE, "--clips=short", f"--batch-size={size}")
        result.assert_outcomes(passed=2)
        result.stdout.fnmatch_lines([f"*fake-tiny.en-short*cpu*float32*{size}*"])


# --- 4. corrupt, empty or non-audio --audio files --------------------------------------------


def bad_audio(folder: Path) -> dict[str, tuple[Path, str]]:
    """Files that cannot be benchmarked, each with the reason its line gives."""
    folder.mkdir(parents=True, exist_ok=True)
    empty = folder / "empty.wav"
    empty.write_bytes(b"")
    noise = folder / "noise.wav"
    noise.write_bytes(np.random.default_rng(14).bytes(5000))
    text = folder / "text.flac"
    text.write_text("hello, this is not audio\n")
    silent = folder / "silent.wav"
    sf.write(silent, np.zeros((0, 1), dtype=np.float32), 16_000)
    cut = folder / "cut.flac"
    cut.write_bytes(SHORT.read_bytes()[:3000])
    nan = folder / "nan.wav"
    samples = np.full(16_000, 0.1, dtype=np.float32)
    samples[100] = np.nan
    sf.write(nan, samples, 16_000, subtype="FLOAT")
    return {
        "empty": (empty, "the file is empty (0 bytes); re-record or re-export it"),
        "noise": (noise, "not readable as audio (Format not recognised.)"),
        "text": (text, "not readable as audio (Format not recognised.)"),
        "silent": (silent, "holds no audio samples; re-record or re-export it"),
        # libsndfile's own words differ between its releases ("Error : flac decoder lost
        # sync." in 1.2.2; "Internal psf_fseek() failed." in 1.2.0, soundfile 0.12's)
        "cut": (cut, "not readable as audio ("),
        "nan": (nan, "contains NaN or infinite samples; the file is corrupt: re-export it"),
    }


@pytest.mark.parametrize("kind", ["empty", "noise", "text", "silent", "cut", "nan"])
def test_4_one_bad_audio_file_is_one_usage_line_naming_it(
    bench: Bench, tmp_path: Path, kind: str
) -> None:
    path, reason = bad_audio(tmp_path / "audio")[kind]
    options = [o for o in B if not o.startswith("--clips")]
    one_usage_error(bench(*options, f"--audio={path}"), f"{path}: {reason}")


def test_4_a_folder_keeps_its_good_files_and_names_each_bad_one(
    bench: Bench, tmp_path: Path
) -> None:
    folder = tmp_path / "audio"
    bad = bad_audio(folder)
    write_clip(folder, "good.flac", "Good morning.")
    storage = tmp_path / "storage"
    result = bench(
        *FAKE, f"--audio={folder}",
        f"--benchmark-storage=file://{storage}", "--benchmark-autosave",
    )  # fmt: skip
    assert result.ret == 0
    result.assert_outcomes(passed=2)
    out = result.stdout.str()
    for path, reason in bad.values():
        assert f"whisperbench: input left out: {path}: {reason}" in out
    (run,) = load_history(storage).runs
    assert sorted(case.name for case in run.cases) == [
        "test_load[fake-tiny.en]",
        "test_transcribe[fake-tiny.en-good]",
    ]
    assert run.record is not None and run.record.complete
    assert len(run.record.rejected_inputs) == len(bad)


def test_4_a_file_cut_after_its_first_second_skips_with_the_decoders_line(
    bench: Bench, tmp_path: Path
) -> None:
    """The collection-time check decodes the first second only; the rest of a file cut in half
    fails when the clip is read: that clip's case skips with one line, the others run."""
    folder = tmp_path / "audio"
    write_clip(folder, "good.flac", "Good morning.")
    half = folder / "half.flac"
    half.write_bytes(SHORT.read_bytes()[: SHORT.stat().st_size // 2])
    result = bench(*FAKE, f"--audio={folder}", "-rs")
    assert result.ret == 0
    result.assert_outcomes(passed=2, skipped=1)
    skipped = f"whisperbench: 1 of 3 case(s) skipped: {half}: not readable as audio ("
    line = next(line for line in result.stdout.lines if line.startswith(skipped))
    assert "); use a wav, flac or ogg file" in line  # in the brackets: libsndfile's own words


def test_4_silence_without_a_reference_may_give_no_text(
    bench: Bench, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Silence, noise or music can rightly transcribe to nothing: with no reference that is a
    result, saved; an empty transcript fails only where the reference has words (test_1)."""
    monkeypatch.setenv("WHISPERBENCH_TEST_SAY", "")
    quiet = tmp_path / "quiet.wav"
    sf.write(quiet, np.zeros(16_000 * 3, dtype=np.float32), 16_000)
    storage = tmp_path / "storage"
    result = bench(
        *FAKE, f"--audio={quiet}", f"--benchmark-storage=file://{storage}", "--benchmark-autosave"
    )
    assert result.ret == 0, result.stdout.str()
    result.assert_outcomes(passed=2)
    (run,) = load_history(storage).runs
    transcribed = next(case for case in run.cases if case.key.kind == "transcribe")
    assert transcribed.name == "test_transcribe[fake-tiny.en-quiet]"
    assert getattr(transcribed.result, "transcript", None) == ""
    assert getattr(transcribed.result, "wer", "absent") is None


def test_4_a_folder_with_nothing_usable_is_one_usage_line(bench: Bench, tmp_path: Path) -> None:
    folder = tmp_path / "audio"
    bad_audio(folder)
    one_usage_error(bench(*FAKE, f"--audio={folder}"), f"no usable audio file in {folder}: ")


# --- 5. references that are not UTF-8, or empty ------------------------------------------------


def test_5_a_reference_that_is_not_utf8_is_one_line_naming_it(bench: Bench, tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "one", "latin1.flac", "Café au lait.".encode("latin-1"))
    options = [o for o in B if not o.startswith("--clips")]
    one_usage_error(
        bench(*options, f"--audio={clip}"),
        f"{clip.with_suffix('.txt')}: the reference transcript is not UTF-8 text (byte 0xe9 at "
        "offset 3); save it as UTF-8",
    )
    write_clip(clip.parent, "good.flac", "Good morning.")
    result = bench(*FAKE, f"--audio={clip.parent}")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["whisperbench: input left out: *latin1.txt: the reference *"])


def test_5_an_empty_reference_warns_and_gives_no_wer(bench: Bench, tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "audio", "blank.flac", "  \n")
    storage = tmp_path / "storage"
    result = bench(
        *FAKE, f"--audio={clip}", f"--benchmark-storage=file://{storage}", "--benchmark-autosave"
    )
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [f"whisperbench: warning: {clip.with_suffix('.txt')}: the reference transcript is empty, "
         "so this clip gets no WER; write what is said into it, or delete it"]
    )  # fmt: skip
    (run,) = load_history(storage).runs
    transcribed = next(case for case in run.cases if case.key.kind == "transcribe")
    assert getattr(transcribed.result, "wer", "absent") is None


# --- 6. an absent device ---------------------------------------------------------------------


@pytest.mark.parametrize("device", ["cuda", "mps"])
def test_6_a_device_that_is_not_here_is_a_usage_error(bench: Bench, device: str) -> None:
    if getattr(devices.DevicePresence.detect(), device):
        pytest.skip(f"{device} is present here")
    options = [o for o in B if not o.startswith("--device")]
    one_usage_error(
        bench(*options, f"--device={device}"), f"device '{device}' was asked for but", "--device"
    )


# --- 7.-9. a damaged model cache -------------------------------------------------------------


def skipped_for_the_cache(result: pytest.RunResult, cache: Path, reason: str) -> str:
    """Every case skipped with the reason and the fix for ``cache``; the session says that
    nothing was measured and exits 1 (a nightly job must not pass). Returns the fix."""
    out = result.stdout.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED, out
    result.assert_outcomes(skipped=2)
    assert "Traceback" not in out and len(result.stdout.lines) < 20, out
    line = next(line for line in result.stdout.lines if "2 of 2 case(s) skipped" in line)
    assert reason in line, line
    fix = line.split("Fix: ", 1)[1]
    assert fix.count(f"--cache-dir {cache}") == 2, fix
    assert (
        "whisperbench: error: no case was measured: all 2 collected case(s) were skipped "
        "(reasons above); nothing was saved, exit status 1"
    ) in out
    return fix


def repair_as_the_fix_says(fix: str, cache: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """Run the offline command the fix names (``whisperbench import-model --bundled ...``)
    and check-models then; returns import-model's output."""
    offline = fix.split("(offline: ", 1)[1].rstrip(")")
    argv = offline.split()
    assert argv[:3] == ["whisperbench", "import-model", "--bundled"], offline
    code, out, err = cli(capsys, *argv[1:])
    assert code == 0 and err == [], err
    status = inspect("tiny.en", "transformers", cache_dir=cache)
    assert status.status == "complete", status.reason
    return out


def test_7_a_leftover_incomplete_blob_is_removed_by_the_fix(
    bench: Bench, offline_hub_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = copy_repos(offline_hub_cache, tmp_path / "hub", TINY_TF)
    partial = repo_dir(cache, TINY_TF) / "blobs" / "0123abcd.incomplete"
    partial.write_bytes(b"\0" * 1000)
    fix = skipped_for_the_cache(
        bench(*B, f"--cache-dir={cache}"),
        cache,
        "transformers tiny.en: incomplete: an interrupted download left 1 .incomplete blob(s)",
    )
    out = repair_as_the_fix_says(fix, cache, capsys)
    assert f"  removed {partial} (left by an interrupted download)" in out
    assert not partial.exists()


def test_7_a_partial_blob_that_a_running_download_holds_is_kept(
    offline_hub_cache: Path, tmp_path: Path
) -> None:
    """The hub's own lock (``.locks/<repo>/<etag>.lock``) marks a download in progress: its
    ``.incomplete`` blob is left alone and the import says so."""
    from filelock import FileLock

    from whisperbench.weights import import_bundled

    cache = copy_repos(offline_hub_cache, tmp_path / "hub", TINY_TF)
    partial = repo_dir(cache, TINY_TF) / "blobs" / "0123abcd.f00d.incomplete"
    partial.write_bytes(b"\0" * 1000)
    lock = cache / ".locks" / "models--openai--whisper-tiny.en" / "0123abcd.lock"
    lock.parent.mkdir(parents=True)
    with FileLock(lock):
        record = import_bundled("tiny.en", "transformers", cache)
    assert record.partials.busy == (partial,) and record.partials.removed == ()
    assert partial.exists()
    assert import_bundled("tiny.en", "transformers", cache).partials.removed == (partial,)


def test_8_a_truncated_safetensors_is_incomplete_by_its_header_and_repaired(
    bench: Bench, offline_hub_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = copy_repos(offline_hub_cache, tmp_path / "hub", TINY_TF)
    whole = blob_of(offline_hub_cache, TINY_TF, "model.safetensors")
    size = whole.stat().st_size
    with whole.open("rb") as handle:
        replace_blob(cache, TINY_TF, "model.safetensors", handle.read(100_000_000))
    reason = (
        f"incomplete: model.safetensors is truncated: 100000000 bytes, but its header says {size}"
    )
    code, out, _ = cli(
        capsys, "check-models", "--model", "tiny.en", "--implementations", "transformers",
        "--verify-method", "cache-only", "--cache-dir", cache, "--json",
    )  # fmt: skip
    (record,) = json.loads("\n".join(out))["records"]
    assert code == 1 and record["status"] == "incomplete"
    assert f"--cache-dir {cache}" in record["fix"]
    fix = skipped_for_the_cache(bench(*B, f"--cache-dir={cache}"), cache, reason)
    repair_as_the_fix_says(fix, cache, capsys)
    assert blob_of(cache, TINY_TF, "model.safetensors").stat().st_size == size


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes (POSIX)")
def test_9_a_named_pipe_for_the_weights_cannot_be_read_and_is_repaired(
    bench: Bench, offline_hub_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = copy_repos(offline_hub_cache, tmp_path / "hub", TINY_TF)
    pipe = make_fifo(cache, TINY_TF, "model.safetensors")
    status = inspect("tiny.en", "transformers", cache_dir=cache)
    assert status.status == "error" and "no file named" not in status.reason
    assert "model.safetensors (a named pipe) in the snapshot is not a regular file" in status.reason
    fix = skipped_for_the_cache(
        bench(*B, f"--cache-dir={cache}"), cache, "not a regular file, so it cannot be read"
    )
    repair_as_the_fix_says(fix, cache, capsys)
    assert pipe.is_symlink() and pipe.resolve().is_file()


# --- 10. numbers in references ----------------------------------------------------------------


def test_10_a_counting_clip_said_in_digits_scores_its_real_wer(
    bench: Bench, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reference spells the numbers ("One, two, ... ten.", which the Whisper normaliser
    joins into ``12345678910``), the transcript writes digits: WER 0, not 1000%."""
    clip = write_clip(
        tmp_path / "audio",
        "count.flac",
        "One, two, three, four, five, six, seven, eight, nine, ten.",
    )
    storage = tmp_path / "storage"
    monkeypatch.setenv("WHISPERBENCH_TEST_SAY", " 1, 2, 3, 4, 5, 6, 7, 8, 9, 10.")
    result = bench(
        *FAKE, f"--audio={clip}", f"--benchmark-storage=file://{storage}", "--benchmark-autosave"
    )
    result.assert_outcomes(passed=2)
    (run,) = load_history(storage).runs
    transcribed = next(case for case in run.cases if case.key.kind == "transcribe")
    assert getattr(transcribed.result, "wer", None) == 0.0
    # one wrong number is one substituted word of the reference (which the normaliser makes
    # a single word here), not ten errors against one word
    monkeypatch.setenv("WHISPERBENCH_TEST_SAY", " 1, 2, 3, 4, 5, 6, 7, 8, 9, 11.")
    again = bench(
        *FAKE, f"--audio={clip}", f"--benchmark-storage=file://{storage}", "--benchmark-autosave"
    )
    again.assert_outcomes(passed=2)
    newest = load_history(storage).runs[-1]
    transcribed = next(case for case in newest.cases if case.key.kind == "transcribe")
    assert getattr(transcribed.result, "wer", None) == 1.0


# --- saving: concurrent autosaves ------------------------------------------------------------


@pytest.mark.slow
def test_sessions_that_save_at_the_same_moment_never_collide(tmp_path: Path) -> None:
    """Two real sessions reach pytest-benchmark's save at the same moment (a barrier in
    ``fault_injection``) into a storage with a long history (3000 runs: numbering the next one
    lists them all, which widens the race between picking the number and writing the file).
    Without the suite's lock one of the two was lost to ``assert not output_file.exists()``
    (3 tries out of 3 on main at 291a0f4); with it both are saved, numbered in turn."""
    storage = tmp_path / "storage"
    history = storage / str(get_machine_id())  # type: ignore[no-untyped-call]
    history.mkdir(parents=True)
    for number in range(1, 3001):
        (history / f"{number:04d}_old.json").touch()
    inject = {"WHISPERBENCH_TEST_SAVE_BARRIER": f"{tmp_path / 'arrivals'}:2"}
    command = [sys.executable, "-m", "pytest", "benchmarks/", "-p", "helpers.fault_injection"]
    command += ["-p", "no:cacheprovider", "-q", *FAKE, "--clips=short"]
    command += [f"--benchmark-storage=file://{storage}", "--benchmark-autosave"]
    sessions = [
        subprocess.Popen(
            command,
            cwd=REPO,
            env=suite_env(**inject),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [session.communicate(timeout=300)[0] for session in sessions]
    assert [session.returncode for session in sessions] == [0, 0], outputs
    new = sorted(path for path in storage.glob("*/*.json") if "_old" not in path.name)
    assert [path.name[:4] for path in new] == ["3001", "3002"], outputs
    for path in new:
        run = load_run(path)
        assert run.complete and len(run.cases) == 2
