"""The regression judge on evidence, proved on real runs of the suite on real speech (slow).

Seven runs of ``pytest benchmarks/`` into one history, each a fresh process: tiny.en through
``transformers`` on one thread, timed in CPU time (``bench_runs.SUITE_OPTIONS``), on two real
long-form readings (3 min of LibriSpeech test-other, 506 words, 42 units of speech) as a
corpus case:

- five runs of the same code: ``check-regressions`` after each of them flags nothing (on WER
  from the second run on, on time too from the fourth, once the window holds the
  ``MIN_HISTORY`` earlier runs whose spread tells the machine's drift from a change);
- a sixth, 10 % slower (``regression_injection``: after each call, CPU burnt for a tenth of the
  call's own CPU time): flagged on time (limit ``median:5%``), with the interval of the change,
  and not on WER;
- a seventh that drops every 35th word the engine writes (about +2 points of WER): flagged on
  WER (limit 1 point), with the paired test's interval and p.

The time evidence of a corpus timed once is the history's run-to-run spread
(``evidence.time_change``). Why CPU time on one thread: on this shared 2-core machine the
wall-clock time of the same run moves by 2-3x between sessions; CPU time on one thread moved
by 1-2 % from one run to the next, and by up to 5-8 % when other work started or stopped
beside it (measured while writing this test): a drift that the run-to-run spread of the window
holds, where an interval over one session's rounds would call it a change.

They run alone (``tox -e proofs``, marker ``proof``; the nightly's ``proofs`` job), not in the
default run: under ``pytest -n 2`` the other worker's tests moved the CPU time of one run of
the five by more than the 5 % limit (7.19 s to 7.58 s over four runs of the same code), a
drift of the machine that the judge rightly called a change.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers.bench_runs import run_suite

from whisperbench.cli import main
from whisperbench.datasets import FIXTURE_REALSPEECH_DIR
from whisperbench.history import load_run
from whisperbench.results import CorpusResult
from whisperbench.scoring.evidence import MIN_HISTORY, total

pytestmark = [pytest.mark.slow, pytest.mark.proof]

SUBSET = ("lsother_3080-5032-0000to0009", "lsother_367-130732-0000to0009")
"""Two long-form readings of the real clip set, 104 s and 75 s, by two readers."""
CASE = "corpus transformers tiny.en real-subset [cpu float32]"
TIME_LIMIT = "median:5%"
WER_LIMIT = "1"
SLOWER = "0.10"
DROP_EVERY = "35"
"""Every 35th word the engine writes: about +2 points of WER (a dropped word that was wrong
already adds no error)."""


@dataclass(frozen=True)
class ProofRuns:
    same: tuple[Path, ...]
    slower: Path
    dropped: Path

    def storage(self, root: Path, *runs: Path) -> Path:
        folder = root / self.same[0].parent.name
        folder.mkdir(parents=True)
        for run in runs:
            shutil.copy2(run, folder / run.name)
        return root


@pytest.fixture(scope="module")
def proof(offline_hub_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> ProofRuns:
    subset = tmp_path_factory.mktemp("real") / "real-subset"
    subset.mkdir()
    for name in SUBSET:
        for suffix in (".flac", ".txt"):
            shutil.copy2(FIXTURE_REALSPEECH_DIR / f"{name}{suffix}", subset)
    storage = tmp_path_factory.mktemp("proof-runs")

    def run(**inject: str) -> Path:
        return run_suite(storage, offline_hub_cache, f"--dataset={subset}", "--clips=", **inject)

    same = tuple(run() for _ in range(5))
    return ProofRuns(
        same,
        run(WHISPERBENCH_TEST_SLOWER=SLOWER),
        run(WHISPERBENCH_TEST_DROP_EVERY=DROP_EVERY),
    )


def check(storage: Path, time_limit: str = TIME_LIMIT) -> list[str]:
    return [
        "check-regressions",
        "--storage",
        str(storage),
        "--time",
        time_limit,
        "--wer",
        WER_LIMIT,
    ]


def test_saved_runs_carry_errors_per_utterance_and_the_rounds(proof: ProofRuns) -> None:
    run = load_run(proof.same[0])
    (corpus,) = (c.result for c in run.cases if isinstance(c.result, CorpusResult))
    assert sorted(corpus.unit_errors) == sorted(SUBSET)
    assert corpus.word_errors is not None
    summed = total([u for units in corpus.unit_errors.values() for u in units])
    assert summed.reference_words == corpus.word_errors.reference_words
    assert summed.errors == (
        corpus.word_errors.substitutions
        + corpus.word_errors.deletions
        + corpus.word_errors.insertions
    )
    assert len(corpus.round_s) == 1  # one round
    assert sum(len(units) for units in corpus.unit_errors.values()) == 42


def test_five_runs_of_the_same_code_are_never_flagged(
    proof: ProofRuns, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each run after the first is judged against those before it: on WER from the second run
    on (the paired test needs one earlier run), on time too from the fourth (a time change is
    told from the machine's drift between sessions by the spread of ``MIN_HISTORY`` earlier
    runs; with fewer, and one round a run, only the limit could judge, and on this shared
    machine the drift between two sessions, 5-8 %, can pass a 5 % limit: see the README)."""
    for count in range(2, 6):
        storage = proof.storage(tmp_path / f"after-{count}", *proof.same[:count])
        judged_on_time = count - 1 >= MIN_HISTORY
        args = check(storage, TIME_LIMIT if judged_on_time else "none")
        assert main(args) == 0, (capsys.readouterr().out, _medians(proof))
        out = capsys.readouterr().out
        assert "OK: no regressions" in out and "(1 case(s) checked)" in out
        if judged_on_time:  # the change is shown with its interval, which holds zero
            low, high = _time_interval(out)
            assert low < 0 < high, out


def _medians(proof: ProofRuns) -> dict[str, float]:
    """Each proof run's median time, for a failure's message."""
    runs = {f"same {i + 1}": path for i, path in enumerate(proof.same)}
    runs.update(slower=proof.slower, dropped=proof.dropped)
    return {
        name: next(c.median_s for c in load_run(path).cases if c.key.kind == "corpus")
        for name, path in runs.items()
    }


def _time_interval(out: str) -> tuple[float, float]:
    """The interval of the time change in check-regressions' table row of the case."""
    header = next(line for line in out.splitlines() if "Δ time" in line)
    row = next(line for line in out.splitlines() if "real-subset" in line and "│" in line)
    names = [cell.strip() for cell in header.split("┃")[1:-1]]
    cells = [cell.strip() for cell in row.split("│")[1:-1]]
    cell = cells[names.index("Δ time")]
    low, high = cell.split("[", 1)[1].rstrip("]").split(",")
    return float(low.strip().rstrip("%")), float(high.strip().rstrip("%"))


def test_a_run_10_percent_slower_is_flagged_on_time_alone(
    proof: ProofRuns, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    storage = proof.storage(tmp_path, *proof.same, proof.slower)
    assert main(check(storage)) == 1, (capsys.readouterr().out, _medians(proof))
    failure = capsys.readouterr().out.split("FAILED: ", 1)[1]
    assert failure.startswith("1 regression(s)"), failure
    line = failure.splitlines()[1]
    assert f"{CASE}: median time " in line and "(median of 5 run(s))" in line
    assert "(rounds and run-to-run spread), over median:5%" in line
    found = line.split("run(s)): ", 1)[1]
    change = float(found.split("%", 1)[0])
    assert change > 5, line  # the injected 10 %, give or take the machine's drift
    low = float(found.split(" [", 1)[1].split("%", 1)[0])
    assert low > 0, line  # the interval of the change excludes zero


def test_a_run_2_points_less_accurate_is_flagged_on_wer_alone(
    proof: ProofRuns, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    storage = proof.storage(tmp_path, *proof.same, proof.dropped)
    assert main(check(storage, "none")) == 1  # WER alone: time has its own proof
    failure = capsys.readouterr().out.split("FAILED: ", 1)[1]
    assert failure.startswith("1 regression(s)"), failure
    line = failure.splitlines()[1]
    assert f"{CASE}: WER " in line
    points = float(line.split("run(s)): ", 1)[1].split(" points", 1)[0])
    assert 1.5 < points < 3.0, line
    low = float(line.split(" points [", 1)[1].split(",", 1)[0])
    assert low > 0, line
    assert "(MAPSSWE), over 1" in line


def test_compare_shows_the_paired_test_of_a_wer_change(
    proof: ProofRuns, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    storage = proof.storage(tmp_path, proof.same[0], proof.dropped)
    first, second = (p.name[:4] for p in (proof.same[0], proof.dropped))
    assert main(["compare", first, second, "--storage", str(storage)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if "real-subset" in line)
    cells = [cell.strip() for cell in lines[at].split("│")[1:-1]]
    below = [cell.strip() for cell in lines[at + 1].split("│")[1:-1]]  # p and the mark
    (wer,) = (i for i, cell in enumerate(below) if cell.startswith("p"))  # time has no test
    assert cells[wer].startswith("+") and " [+" in cells[wer], out  # more errors, interval
    assert below[wer].endswith(" *"), out  # significant
    assert "?" in lines[at], out  # time: one round a run, two runs: cannot tell


def test_the_report_heads_with_the_verdict_and_shows_intervals(
    proof: ProofRuns, tmp_path: Path
) -> None:
    storage = proof.storage(tmp_path / "storage", *proof.same[:2])
    assert main(["report", "--storage", str(storage), "--output", str(tmp_path / "out")]) == 0
    summary = (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")
    verdict = summary.split("## Verdict", 1)[1].split("\n## ", 1)[0]
    assert "cpu, tiny.en: only transformers (RTFx " in verdict
    row = next(line for line in summary.splitlines() if "| real-subset |" in line)
    assert row.count("[") >= 1  # the WER's interval
    page = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert page.index("<h2>Verdict</h2>") < page.index("Newest result of each case")
    saved = json.loads(proof.same[0].read_text(encoding="utf-8"))
    assert all("round_s" in bench["extra_info"] for bench in saved["benchmarks"])
    assert "no interval for RTFx: 1 round(s), fewer than 6" in summary
