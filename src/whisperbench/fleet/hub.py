"""A Hugging Face dataset repository as the store of many machines' runs, through
``huggingface_hub`` (the Hub, or any server that speaks its API: ``HF_ENDPOINT``).

**Layout.** ``runs/<machine>/<run file stem>.<sha256[:12]>.json``: the saved run as the suite
wrote it, but for its hostname (``published``: ``machine_info.node`` names what the machine
is), in the folder of its machine (its ``--machine-label``, else what it
is: ``machines.default_folder``), its name keeping pytest-benchmark's (``0003_<commit>_<date>``,
so the run's number still reads) plus the first 12 hex digits of the SHA-256 of its content.
Two machines never write the same path (the content differs, so the name does), and a run
already in the repository, under any machine's folder, is recognised by that digest and not
uploaded again: nothing there is ever rewritten.

**Publishing** (``publish``) makes one commit per new run (an interrupted publish leaves
whole runs behind it, and the next one carries on); it creates the dataset repo when it does
not exist. **Reading** (``fetch``) downloads ``runs/*/*.json`` with ``snapshot_download`` into
the HF cache, where the files of earlier downloads are kept: only new runs are downloaded.

Offline (``HF_HUB_OFFLINE``), publishing stops with a line saying so, and reading uses the copy
in the HF cache when there is one (saying so), as every Hugging Face library does offline;
without a token, publishing stops with a line saying how to give one, and reading works for
a public repository.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from whisperbench.errors import WhisperBenchError
from whisperbench.fleet.machines import default_folder, label_problem
from whisperbench.fleet.published import published_copy
from whisperbench.history import Run, load_history

SCHEME = "hf://"
DATASETS = "datasets/"
RUNS_FOLDER = "runs"
RUN_PATTERN = f"{RUNS_FOLDER}/*/*.json"
DIGEST_CHARS = 12
_REPO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*")
_DIGEST = re.compile(rf"\.([0-9a-f]{{{DIGEST_CHARS}}})\.json$")
TOKEN_FIX = "set HF_TOKEN or run `hf auth login`"


class HubStoreError(WhisperBenchError, RuntimeError):
    """The dataset repository cannot be written or read (offline, no token, no such repo)."""


def repo_id_problem(text: str) -> str | None:
    if _REPO_ID.fullmatch(text) and ".." not in text:
        return None
    return f"{text!r} is not a Hugging Face repo id: give ORG/NAME"


def hub_repo(storage: str | Path | None) -> str | None:
    """``hf://datasets/ORG/NAME`` -> ``ORG/NAME``; None for a storage that is not on the Hub."""
    text = str(storage or "")
    if not text.startswith(SCHEME):
        return None
    rest = text[len(SCHEME) :].strip("/")
    if not rest.startswith(DATASETS):
        raise HubStoreError(
            f"{text} is not a dataset repo: runs are published to datasets, give "
            f"{SCHEME}{DATASETS}ORG/NAME"
        )
    repo_id = rest[len(DATASETS) :]
    problem = repo_id_problem(repo_id)
    if problem:
        raise HubStoreError(f"{problem} ({SCHEME}{DATASETS}ORG/NAME)")
    return repo_id


def hub_storage(repo_id: str) -> str:
    return f"{SCHEME}{DATASETS}{repo_id}"


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:DIGEST_CHARS]


def digest_in(path_in_repo: str) -> str | None:
    """The content digest a published run's path carries (None: not a published run)."""
    if not path_in_repo.startswith(f"{RUNS_FOLDER}/"):
        return None
    found = _DIGEST.search(path_in_repo)
    return found[1] if found else None


def repo_path(run: Run, data: bytes, label: str | None = None) -> str:
    """Where ``run`` (whose file holds ``data``) goes in the dataset repository."""
    folder = label or default_folder(run)
    return f"{RUNS_FOLDER}/{folder}/{run.path.stem}.{digest(data)}.json"


def _offline() -> bool:
    from whisperbench.weights.offline import hub_offline

    return hub_offline()


def _token() -> str | None:
    from huggingface_hub import get_token

    token: str | None = get_token()
    return token or None


def _endpoint() -> str:
    from huggingface_hub import constants

    return str(constants.ENDPOINT)


def _hub_error(exc: Exception, repo_id: str, doing: str, token: bool) -> HubStoreError:
    """One line for what the Hub (or the way to it) answered."""
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
    )

    from whisperbench.weights.offline import is_network_error

    if isinstance(exc, RepositoryNotFoundError | GatedRepoError):
        if token:
            return HubStoreError(
                f"cannot {doing} dataset {repo_id}: it does not exist, or the token cannot "
                "reach it; check the name, or use a token with access to it"
            )
        return HubStoreError(
            f"cannot {doing} dataset {repo_id}: it does not exist, or it is private and no "
            f"token was given; {TOKEN_FIX}"
        )
    if isinstance(exc, HfHubHTTPError):
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
        if status in (401, 403):
            return HubStoreError(
                f"the Hub refused to let this token {doing} dataset {repo_id} (HTTP {status}); "
                f"{TOKEN_FIX} with a token that has write access"
            )
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return HubStoreError(f"cannot {doing} dataset {repo_id}: {first}")
    if isinstance(exc, LocalEntryNotFoundError) or is_network_error(exc):
        return HubStoreError(
            f"cannot reach the Hub at {_endpoint()} to {doing} dataset {repo_id}, and no copy "
            "is in the HF cache; check the network (or HF_ENDPOINT)"
        )
    return HubStoreError(f"cannot {doing} dataset {repo_id}: {type(exc).__name__}: {exc}")


@dataclass(frozen=True)
class Published:
    """What ``publish`` did with one run."""

    run: Run
    path_in_repo: str
    uploaded: bool
    """False: it was there already (``path_in_repo`` is where)."""
    commit: str | None = None


def _client_errors() -> tuple[type[Exception], ...]:
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    return (HfHubHTTPError, LocalEntryNotFoundError, OSError, ConnectionError, TimeoutError)


def publish(
    storage: str | Path,
    repo_id: str,
    label: str | None = None,
    progress: Callable[[str], None] = lambda line: None,
    warn: Callable[[str], None] = lambda line: None,
) -> list[Published]:
    """Upload each readable run of ``storage`` that the dataset repo ``repo_id`` does not hold
    yet, one commit each, oldest first; files that cannot be read are named through ``warn``
    and left out."""
    problem = repo_id_problem(repo_id) or (label_problem(label) if label is not None else None)
    if problem:
        raise HubStoreError(problem)
    if _offline():
        raise HubStoreError(
            f"HF_HUB_OFFLINE is set: publishing to {repo_id} needs the Hub; unset "
            "HF_HUB_OFFLINE (publish from a machine that reaches the Hub)"
        )
    token = _token()
    if token is None:
        raise HubStoreError(
            f"no Hugging Face token: publishing to {repo_id} needs one with write access; "
            f"{TOKEN_FIX}"
        )
    history = load_history(storage)
    for line in history.problems():
        warn(f"{line} (not published)")
    if not history.runs:
        raise HubStoreError(f"no readable runs in {history.storage}; nothing to publish")

    from huggingface_hub import CommitOperationAdd, HfApi

    api = HfApi(token=token)
    try:
        if not api.repo_exists(repo_id, repo_type="dataset"):
            # asked only when missing: a token may write to a repo, not create one
            api.create_repo(repo_id, repo_type="dataset", exist_ok=True)
        present = {
            found: path
            for path in api.list_repo_files(repo_id, repo_type="dataset")
            if (found := digest_in(path)) is not None
        }
    except _client_errors() as exc:
        raise _hub_error(exc, repo_id, "publish to", token=True) from exc
    done: list[Published] = []
    for run in history.runs:
        data = run.path.read_bytes()
        if not _whole_run(data):  # changed since it was read: never upload half a file
            warn(f"{run.path}: no longer a whole run (not published)")
            continue
        copy = published_copy(run, data)
        # a run published byte for byte, before copies left the hostname out, is there too
        there = present.get(digest(copy)) or present.get(digest(data))
        if there is not None:
            done.append(Published(run, there, uploaded=False))
            progress(f"run {run.run_id} ({run.path.name}) is there already: {there}")
            continue
        path_in_repo = repo_path(run, copy, label)
        try:
            info = api.create_commit(
                repo_id,
                [CommitOperationAdd(path_in_repo=path_in_repo, path_or_fileobj=copy)],
                commit_message=f"whisperbench run {run.run_id} of {path_in_repo.split('/')[1]}",
                commit_description=(
                    f"{run.label}, commit {run.commit}; {run.hardware}; from {run.path.name}"
                ),
                repo_type="dataset",
            )
        except _client_errors() as exc:
            raise _hub_error(exc, repo_id, "publish to", token=True) from exc
        present[digest(copy)] = path_in_repo
        done.append(Published(run, path_in_repo, uploaded=True, commit=str(info.oid)))
        progress(f"run {run.run_id} ({run.path.name}) -> {path_in_repo} (commit {info.oid[:8]})")
    return done


def _whole_run(data: bytes) -> bool:
    """``data`` is a whole pytest-benchmark run (JSON with its benchmarks)."""
    try:
        parsed = json.loads(data)
    except ValueError:
        return False
    return isinstance(parsed, dict) and isinstance(parsed.get("benchmarks"), list)


@dataclass(frozen=True)
class Fetched:
    """The runs of a dataset repository, as the HF cache holds them now."""

    repo_id: str
    folder: Path
    """The snapshot's ``runs`` folder: a pytest-benchmark storage (one folder per machine)."""
    revision: str
    files: int
    new: int
    """Files that this fetch downloaded (the others were in the cache already)."""
    offline: bool = False


def _cached_files(snapshot: Path | None) -> set[str]:
    if snapshot is None or not snapshot.is_dir():
        return set()
    return {str(p.relative_to(snapshot)) for p in snapshot.glob(RUN_PATTERN)}


def _cached_snapshot(repo_id: str, cache_dir: Path | None) -> Path | None:
    """The snapshot that the cache's ``main`` points to (None: nothing cached)."""
    from huggingface_hub import constants

    root = Path(cache_dir or constants.HF_HUB_CACHE) / f"datasets--{repo_id.replace('/', '--')}"
    ref = root / "refs" / "main"
    if not ref.is_file():
        return None
    return root / "snapshots" / ref.read_text(encoding="utf-8").strip()


def fetch(repo_id: str, cache_dir: Path | None = None) -> Fetched:
    """Download the runs of ``repo_id`` that the HF cache lacks; the cached runs folder."""
    problem = repo_id_problem(repo_id)
    if problem:
        raise HubStoreError(problem)
    from huggingface_hub import snapshot_download
    from huggingface_hub.utils.tqdm import (
        are_progress_bars_disabled,
        disable_progress_bars,
        enable_progress_bars,
    )

    offline = _offline()
    token = _token()
    before = _cached_files(_cached_snapshot(repo_id, cache_dir))
    bars_were_off = are_progress_bars_disabled()
    disable_progress_bars()  # one line says what was fetched (describe_fetch)
    hub_logger = logging.getLogger("huggingface_hub")
    level = hub_logger.level
    hub_logger.setLevel(logging.ERROR)  # "no files matched": said as one line below
    try:
        folder = Path(
            snapshot_download(
                repo_id,
                repo_type="dataset",
                allow_patterns=[RUN_PATTERN],
                cache_dir=cache_dir,
                token=token,
                local_files_only=offline,
            )
        )
    except _client_errors() as exc:
        if offline:
            raise HubStoreError(
                f"HF_HUB_OFFLINE is set and no copy of dataset {repo_id} is in the HF cache; "
                "unset HF_HUB_OFFLINE to download it"
            ) from exc
        raise _hub_error(exc, repo_id, "read", token=token is not None) from exc
    finally:
        hub_logger.setLevel(level)
        if not bars_were_off:
            enable_progress_bars()
    files = _cached_files(folder)
    runs = folder / RUNS_FOLDER
    if not files:
        raise HubStoreError(
            f"dataset {repo_id} holds no runs yet; publish some with "
            f"`whisperbench publish --repo {repo_id}`"
        )
    return Fetched(
        repo_id=repo_id,
        folder=runs,
        revision=folder.name,
        files=len(files),
        new=len(files - before),
        offline=offline,
    )


def describe_fetch(fetched: Fetched) -> str:
    """One line: what was read, from where, and what was new."""
    where = f"{fetched.repo_id} at {fetched.revision[:8]}"
    if fetched.offline:
        return (
            f"offline (HF_HUB_OFFLINE): {fetched.files} run file(s) of {where} from the HF "
            "cache, as last downloaded; unset HF_HUB_OFFLINE for newer runs"
        )
    return (
        f"{fetched.files} run file(s) of {where}: {fetched.new} new, downloaded into the HF cache"
    )


def published_lines(done: Sequence[Published], repo_id: str) -> list[str]:
    uploaded = sum(1 for item in done if item.uploaded)
    return [
        f"{uploaded} run(s) published to {hub_storage(repo_id)}, "
        f"{len(done) - uploaded} there already"
    ]
