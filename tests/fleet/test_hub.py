"""``whisperbench publish`` and ``--storage hf://datasets/ORG/NAME`` with the real
``huggingface_hub`` client against the Hub on 127.0.0.1 (``hub_server``), on runs recorded on
two machines (2 CPU cores, an H100): one commit per run, paths that never collide, nothing
uploaded twice, only new runs downloaded, and one line (exit status 2) offline, without a
token, for a private or missing repo."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.hub_server import DatasetRepo, LocalHub, local_hub

from whisperbench.fleet import hub as fleet_hub
from whisperbench.fleet.published import published_copy
from whisperbench.history import load_history

pytestmark = pytest.mark.slow

TOKEN = "hf_local_write_token"
REPO = "office/whisper-fleet"
LABEL = "lab-h100"
REPORTS = Path(__file__).resolve().parents[2] / "reports"
CPU_STORAGE = REPORTS / "cpu" / "runs-7ee3082"
GPU_STORAGE = REPORTS / "gpu" / "h100-4e2b31c"
OTHER_CPU_STORAGE = REPORTS / "cpu" / "runs-d6ede62"
"""Recorded runs: 2 CPU cores (two sessions), an H100 (six runs)."""


@pytest.fixture
def hub() -> Iterator[LocalHub]:
    with local_hub(tokens={TOKEN}) as running:
        yield running


def _cli(
    hub: LocalHub, home: Path, *args: str, **env: str | None
) -> subprocess.CompletedProcess[str]:
    environ = {
        **os.environ,
        "HF_ENDPOINT": hub.endpoint,
        "HF_HOME": str(home),
        "HF_TOKEN": TOKEN,
        "COLUMNS": "200",
    }
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "WHISPERBENCH_MACHINE_LABEL"):
        environ.pop(name, None)
    for name, value in env.items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    return subprocess.run(
        [sys.executable, "-m", "whisperbench.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=environ,
    )


def _publish(
    hub: LocalHub, home: Path, storage: Path, *extra: str, **env: str | None
) -> subprocess.CompletedProcess[str]:
    return _cli(hub, home, "publish", "--repo", REPO, "--storage", str(storage), *extra, **env)


def _report(
    hub: LocalHub, home: Path, output: Path, *extra: str, **env: str | None
) -> subprocess.CompletedProcess[str]:
    return _cli(
        hub,
        home,
        "report",
        "--storage",
        f"hf://datasets/{REPO}",
        "--output",
        str(output),
        "--format",
        "md",
        *extra,
        **env,
    )


def _one_error_line(done: subprocess.CompletedProcess[str], command: str) -> str:
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"whisperbench {command}: error: "), lines
    return lines[0]


def _without_host(run: dict[str, Any]) -> dict[str, Any]:
    """A run's JSON without ``machine_info.node``."""
    return {**run, "machine_info": {k: v for k, v in run["machine_info"].items() if k != "node"}}


def _runs(storage: Path) -> list[Path]:
    return [run.path for run in load_history(storage).runs]


def test_two_machines_published_and_read_back_into_one_report(
    hub: LocalHub, tmp_path: Path
) -> None:
    home = tmp_path / "hf-home"
    cpu = _publish(hub, home, CPU_STORAGE)
    assert cpu.returncode == 0, cpu.stderr
    gpu = _publish(hub, home, GPU_STORAGE, "--machine-label", LABEL)
    assert gpu.returncode == 0, gpu.stderr
    cpu_runs, gpu_runs = _runs(CPU_STORAGE), _runs(GPU_STORAGE)
    repo = hub.datasets[REPO]
    # one commit per run, each adding exactly its run
    assert len(repo.commits) == 1 + len(cpu_runs) + len(gpu_runs) == 8  # the first: creation
    added = [
        set(files) - set(earlier)
        for (_, _, files), (_, _, earlier) in zip(repo.commits[1:], repo.commits, strict=False)
    ]
    assert all(len(paths) == 1 for paths in added)
    # each file in the repo is the saved run, its hostname left out, in its machine's folder
    by_stem = {path.stem: path for path in [*cpu_runs, *gpu_runs]}
    published = {path: data for path, data in repo.files.items() if path.startswith("runs/")}
    assert len(published) == 7
    for path_in_repo, data in published.items():
        local = by_stem[path_in_repo.split("/")[2].split(".")[0]]
        folder = path_in_repo.split("/")[1]
        assert folder == (LABEL if local in gpu_runs else "amd-epyc-x2-24-gb-linux")
        assert path_in_repo.endswith(f"{local.stem}.{fleet_hub.digest(data)}.json")
        assert _without_host(json.loads(data)) == _without_host(json.loads(local.read_bytes()))
    assert "1 run(s) published" in cpu.stdout and "6 run(s) published" in gpu.stdout

    # publishing again uploads nothing and makes no commit, whatever the label
    again = _publish(hub, home, CPU_STORAGE, "--machine-label", "renamed")
    assert again.returncode == 0, again.stderr
    assert "0 run(s) published" in again.stdout and "1 there already" in again.stdout
    assert len(repo.commits) == 8
    created = [r for r in hub.requests if r.method == "POST" and r.path == "/api/repos/create"]
    assert len(created) == 1  # the first publish made the repo; the others found it

    # read back: one report of both machines, the H100 under its label
    output = tmp_path / "report"
    first = _report(hub, home, output)
    assert first.returncode == 0, first.stderr
    assert "7 run(s) from 2 machine(s)" in first.stdout
    assert "7 run file(s)" in first.stderr and "7 new" in first.stderr
    summary = (output / "summary.md").read_text(encoding="utf-8")
    assert f"## {LABEL}: " in summary and "NVIDIA H100 80GB HBM3" in summary
    assert "## amd-epyc-x2-24-gb-linux: AMD EPYC" in summary
    # the per-device leaderboard: each machine by its label or what it is, never its host
    board = summary.split("## Leaderboard per machine", 1)[1].split("\n## amd-epyc", 1)[0]
    assert "### AMD EPYC x2, 24 GB\n" in board
    assert f"### {LABEL} (NVIDIA H100 80GB HBM3 (79.2 GB); " in board
    assert "#### tiny.en on cuda" in board and "#### tiny.en on cpu" in board
    assert f"| transformers | tiny.en | long | {LABEL} | cuda float16 |" in board
    assert "| transformers | tiny.en | long | AMD EPYC x2, 24 GB | cpu float32 |" in board
    assert '"vm"' not in board and "node" not in board
    assert sorted(hub.dataset_fetched(REPO)) == sorted(published)  # runs only

    # a third run from another machine: the next report downloads it alone
    newer = _publish(hub, home, OTHER_CPU_STORAGE, "--machine-label", "ci-runner-2")
    assert newer.returncode == 0, newer.stderr
    fetched_before = len(hub.dataset_fetched(REPO))
    second = _cli(
        hub, home, "report", "--from-hub", REPO, "--output", str(output), "--format", "md"
    )
    assert second.returncode == 0, second.stderr
    assert "8 run file(s)" in second.stderr and "1 new" in second.stderr
    new_downloads = hub.dataset_fetched(REPO)[fetched_before:]
    assert len(new_downloads) == 1 and new_downloads[0].startswith("runs/ci-runner-2/")
    assert "8 run(s) from 3 machine(s)" in second.stdout

    # offline, the report reads the copy in the HF cache and says so
    offline = _report(hub, home, output, HF_HUB_OFFLINE="1")
    assert offline.returncode == 0, offline.stderr
    assert "offline (HF_HUB_OFFLINE)" in offline.stderr and "8 run file(s)" in offline.stderr


def test_the_same_file_name_on_two_machines_takes_two_paths(tmp_path: Path) -> None:
    """Two machines' runs 0001 of one commit saved in the same second still differ in content
    (what they measured), so in the digest their paths carry: no collision, whatever the names."""
    source = _runs(CPU_STORAGE)[0]
    other = json.loads(source.read_text(encoding="utf-8"))
    other["benchmarks"][0]["stats"]["median"] *= 1.01
    twin = tmp_path / "twin" / source.parent.name / source.name
    twin.parent.mkdir(parents=True)
    twin.write_text(json.dumps(other), encoding="utf-8")
    runs = [load_history(CPU_STORAGE).runs[0], load_history(tmp_path / "twin").runs[0]]
    paths = [fleet_hub.repo_path(run, published_copy(run, run.path.read_bytes())) for run in runs]
    assert paths[0] != paths[1]
    assert paths[0].rsplit("/", 1)[0] == paths[1].rsplit("/", 1)[0]  # same kind of machine
    assert all(fleet_hub.digest_in(path) for path in paths)
    assert fleet_hub.digest_in("README.md") is None


def test_unreadable_runs_are_named_and_not_published(
    hub: LocalHub, tmp_path: Path, broken_copies: object
) -> None:
    storage = tmp_path / "storage"
    folder = storage / "Linux-CPython-3.11-64bit"
    folder.mkdir(parents=True)
    good = shutil.copy2(_runs(CPU_STORAGE)[0], folder)
    assert callable(broken_copies)
    broken = broken_copies(Path(good), folder)
    done = _publish(hub, tmp_path / "home", storage)
    assert done.returncode == 0, done.stderr
    assert "1 run(s) published" in done.stdout
    warned = [line for line in done.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warned) == len(broken) and all("(not published)" in line for line in warned)
    run = load_history(storage).runs[0]
    assert [path for path in hub.datasets[REPO].files if path.startswith("runs/")] == [
        fleet_hub.repo_path(run, published_copy(run, Path(good).read_bytes()))
    ]


def test_offline_publish_is_one_line(hub: LocalHub, tmp_path: Path) -> None:
    line = _one_error_line(_publish(hub, tmp_path, CPU_STORAGE, HF_HUB_OFFLINE="1"), "publish")
    assert "HF_HUB_OFFLINE is set" in line and "unset HF_HUB_OFFLINE" in line
    assert hub.requests == []


def test_publish_without_a_token_is_one_line(hub: LocalHub, tmp_path: Path) -> None:
    line = _one_error_line(_publish(hub, tmp_path, CPU_STORAGE, HF_TOKEN=None), "publish")
    assert "no Hugging Face token" in line and "HF_TOKEN" in line and "hf auth login" in line
    assert not [r for r in hub.requests if r.method == "POST"]


def test_publish_with_a_token_the_hub_refuses_is_one_line(hub: LocalHub, tmp_path: Path) -> None:
    line = _one_error_line(_publish(hub, tmp_path, CPU_STORAGE, HF_TOKEN="hf_wrong"), "publish")
    assert "refused" in line and "HTTP 401" in line
    assert REPO not in hub.datasets


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--machine-label", "office m4"), "cannot name a folder"),
        (("--repo", "no-slash"), "not a Hugging Face repo id"),
    ],
)
def test_bad_publish_input_is_one_line(
    hub: LocalHub, tmp_path: Path, args: tuple[str, ...], expected: str
) -> None:
    repo = args[1] if args[0] == "--repo" else REPO
    extra = () if args[0] == "--repo" else args
    done = _cli(hub, tmp_path, "publish", "--repo", repo, "--storage", str(CPU_STORAGE), *extra)
    assert expected in _one_error_line(done, "publish")
    assert hub.requests == []


def test_reading_a_private_repo_needs_a_token(hub: LocalHub, tmp_path: Path) -> None:
    hub.datasets[REPO] = DatasetRepo(private=True)
    run = _runs(CPU_STORAGE)[0]
    data = run.read_bytes()
    hub.datasets[REPO].commit(
        "one run", {f"runs/ci/{run.stem}.{fleet_hub.digest(data)}.json": data}
    )
    output = tmp_path / "report"
    line = _one_error_line(_report(hub, tmp_path / "a", output, HF_TOKEN=None), "report")
    assert "private and no token was given" in line and "HF_TOKEN" in line
    done = _report(hub, tmp_path / "b", output)
    assert done.returncode == 0, done.stderr
    assert "1 run(s) from 1 machine(s)" in done.stdout


def test_offline_report_without_a_cached_copy_is_one_line(hub: LocalHub, tmp_path: Path) -> None:
    line = _one_error_line(
        _report(hub, tmp_path, tmp_path / "report", HF_HUB_OFFLINE="1"), "report"
    )
    assert "HF_HUB_OFFLINE is set" in line and "no copy" in line
    assert hub.requests == []


@pytest.mark.parametrize(
    ("storage", "expected"),
    [
        ("hf://datasets/office/missing", "does not exist"),
        ("hf://models/office/whisper-fleet", "not a dataset repo"),
    ],
)
def test_a_storage_that_is_not_a_published_dataset_is_one_line(
    hub: LocalHub, tmp_path: Path, storage: str, expected: str
) -> None:
    done = _cli(hub, tmp_path, "report", "--storage", storage, "--output", str(tmp_path / "r"))
    assert expected in _one_error_line(done, "report")


def test_an_empty_dataset_says_how_to_fill_it(hub: LocalHub, tmp_path: Path) -> None:
    hub.datasets[REPO] = DatasetRepo()
    line = _one_error_line(_report(hub, tmp_path, tmp_path / "report"), "report")
    assert "holds no runs yet" in line and f"whisperbench publish --repo {REPO}" in line


def test_compare_and_check_regressions_read_the_dataset_too(hub: LocalHub, tmp_path: Path) -> None:
    assert _publish(hub, tmp_path, GPU_STORAGE, "--machine-label", LABEL).returncode == 0
    storage = f"hf://datasets/{REPO}"
    compared = _cli(hub, tmp_path, "compare", "0002", "0003", "--storage", storage)
    assert compared.returncode == 0, compared.stderr
    assert "batch_size 64 -> 24" in compared.stdout  # run 0003 of the H100 at batch 24
    checked = _cli(
        hub,
        tmp_path,
        "check-regressions",
        "--storage",
        storage,
        "--machine",
        LABEL,
        "--time",
        "none",
    )
    assert f"on {LABEL} against" in checked.stdout, checked.stderr
    # judged as on the machine itself: the H100's run 0006 lacks cases its history has
    assert checked.returncode == 1 and "FAILED: run 0006 lacks 8 case(s)" in checked.stdout


def test_only_whole_runs_are_uploaded() -> None:
    """A run file read again just before its upload must still be a whole run (a file cut
    since the history read it is named and left out, never uploaded in part)."""
    data = _runs(CPU_STORAGE)[0].read_bytes()
    assert fleet_hub._whole_run(data)
    assert not fleet_hub._whole_run(data[: len(data) // 2])
    assert not fleet_hub._whole_run(b"")
    assert not fleet_hub._whole_run(b'{"machine_info": {}}')


HOSTNAME = "build-box-7.corp.example"


def test_the_hostname_never_leaves_the_machine(hub: LocalHub, tmp_path: Path) -> None:
    """pytest-benchmark records the hostname as ``machine_info.node``: the local run keeps it,
    the published copy names what the machine is instead; one run has one copy (and one
    digest) whatever its label, and a run published byte for byte before is not uploaded
    again."""
    source = _runs(CPU_STORAGE)[0]
    storage = tmp_path / "storage"
    local = storage / source.parent.name / source.name
    local.parent.mkdir(parents=True)
    saved = json.loads(source.read_text(encoding="utf-8"))
    saved["machine_info"]["node"] = HOSTNAME
    local.write_text(json.dumps(saved, indent=4), encoding="utf-8")
    before = local.read_bytes()
    home = tmp_path / "hf-home"

    first = _publish(hub, home, storage, "--machine-label", "ci-a")
    assert first.returncode == 0, first.stderr
    assert local.read_bytes() == before  # the local storage is as pytest-benchmark wrote it
    (path_in_repo,) = [path for path in hub.datasets[REPO].files if path.startswith("runs/")]
    data = hub.datasets[REPO].files[path_in_repo]
    assert HOSTNAME.encode() not in data and b"build-box" not in data
    copy = json.loads(data)
    assert copy["machine_info"]["node"] == "amd-epyc-x2-24-gb-linux"
    assert _without_host(copy) == _without_host(saved)
    assert path_in_repo == f"runs/ci-a/{local.stem}.{fleet_hub.digest(data)}.json"

    # another label: the same copy, there already
    again = _publish(hub, home, storage, "--machine-label", "ci-b")
    assert again.returncode == 0, again.stderr
    assert "0 run(s) published" in again.stdout and "1 there already" in again.stdout

    # read back, the report names the machine by what it is, never by its host
    output = tmp_path / "report"
    report = _report(hub, home, output)
    assert report.returncode == 0, report.stderr
    summary = (output / "summary.md").read_text(encoding="utf-8")
    assert HOSTNAME not in summary and "## ci-a: AMD EPYC" in summary


def test_a_run_published_byte_for_byte_earlier_is_not_uploaded_again(
    hub: LocalHub, tmp_path: Path
) -> None:
    """Before copies left the hostname out, runs were published as saved: their digest is the
    saved file's, and publishing them again finds them."""
    source = _runs(CPU_STORAGE)[0]
    run = load_history(CPU_STORAGE).runs[0]
    raw = source.read_bytes()
    repo = DatasetRepo()
    repo.commit("a run published as saved", {fleet_hub.repo_path(run, raw): raw})
    hub.datasets[REPO] = repo
    done = _publish(hub, tmp_path / "hf-home", CPU_STORAGE)
    assert done.returncode == 0, done.stderr
    assert "0 run(s) published" in done.stdout and "1 there already" in done.stdout
    assert [path for path in repo.files if path.startswith("runs/")] == [
        fleet_hub.repo_path(run, raw)
    ]
