"""A Hugging Face Hub on 127.0.0.1, for testing downloads on machines that cannot reach the real
one: it answers the requests that ``huggingface_hub.snapshot_download`` makes (the revision and
tree APIs, then ``HEAD``/``GET`` of each file under ``resolve/``, with ``Range`` for a resumed
download) from real files, and logs every request. A repository that it does not hold gets the
Hub's own answer (``X-Error-Code: RepoNotFound``).

Dataset repositories (``LocalHub.datasets``) also take uploads, through the API that
``HfApi.repo_exists``, ``HfApi.create_repo`` and ``HfApi.create_commit`` use:
``GET /api/datasets/REPO``, ``POST /api/repos/create``, then
``POST /api/datasets/REPO/preupload/REV`` (every file is answered ``regular``, with the git oid of
the file already at that path, as the Hub answers for small text files) and
``POST /api/datasets/REPO/commit/REV`` (NDJSON: a header, then ``file`` lines with base64
content). Each commit gets a new commit id; ``resolve/`` serves ``main`` or any commit id,
with the git blob oid as ``ETag`` (the Hub's answer for a file kept in git, not in LFS). Writes
need a token of ``LocalHub.tokens`` (``Authorization: Bearer``); a private dataset is read only
with one."""

from __future__ import annotations

import base64
import functools
import hashlib
import http.server
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

__all__ = ["DatasetRepo", "LocalHub", "Request", "local_hub"]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    range: str | None
    authorized: bool = False
    """It carried a token the hub knows."""


def git_oid(data: bytes) -> str:
    """git's blob id of ``data`` (what the Hub gives as a regular file's oid and ETag)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


GITATTRIBUTES = b"*.parquet filter=lfs diff=lfs merge=lfs -text\n"


@dataclass
class DatasetRepo:
    """A dataset repository that takes commits: its files at each commit, oldest first."""

    private: bool = False
    commits: list[tuple[str, str, dict[str, bytes]]] = field(default_factory=list)
    """(commit id, summary, every file at that commit)."""

    def __post_init__(self) -> None:
        if not self.commits:  # the Hub creates a repository with one commit
            self.commit("initial commit", {".gitattributes": GITATTRIBUTES})

    @property
    def files(self) -> dict[str, bytes]:
        return self.commits[-1][2] if self.commits else {}

    @property
    def head(self) -> str:
        return self.commits[-1][0] if self.commits else "0" * 40

    def at(self, revision: str) -> dict[str, bytes] | None:
        if revision == "main":
            return self.files
        return next((files for oid, _, files in self.commits if oid == revision), None)

    def commit(self, summary: str, added: dict[str, bytes]) -> str:
        parent = self.head
        files = {**self.files, **added}
        oid = hashlib.sha1(f"{parent}{summary}{sorted(added)}".encode()).hexdigest()
        self.commits.append((oid, summary, files))
        return oid


@dataclass
class LocalHub:
    """``repos``: repo id to {file name: the file served under that name}."""

    repos: dict[str, dict[str, Path]]
    endpoint: str = ""
    requests: list[Request] = field(default_factory=list)
    datasets: dict[str, DatasetRepo] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    """Tokens that may write (and read private datasets)."""

    def dataset_fetched(self, repo_id: str) -> list[str]:
        """The files of dataset ``repo_id`` whose content was sent (GET), in request order."""
        pattern = re.compile(rf"/datasets/{re.escape(repo_id)}/resolve/[^/]+/(?P<name>.+)")
        return [
            match["name"]
            for r in self.requests
            if r.method == "GET" and (match := pattern.fullmatch(r.path)) is not None
        ]

    @staticmethod
    def commit(repo_id: str) -> str:
        return hashlib.sha1(repo_id.encode()).hexdigest()

    def fetched(self, repo_id: str) -> list[str]:
        """The files of ``repo_id`` whose content was sent (GET), in request order."""
        prefix = f"/{repo_id}/resolve/{self.commit(repo_id)}/"
        return [
            r.path[len(prefix) :]
            for r in self.requests
            if r.method == "GET" and r.path.startswith(prefix)
        ]


def _handler(hub: LocalHub) -> type[http.server.BaseHTTPRequestHandler]:
    api = re.compile(r"/api/models/(?P<repo>[^/]+/[^/]+)/(?P<what>revision|tree)/[^/]+")
    resolve = re.compile(r"/(?P<repo>[^/]+/[^/]+)/resolve/(?P<commit>[0-9a-f]{40})/(?P<name>.+)")
    dataset_api = re.compile(
        r"/api/datasets/(?P<repo>[^/]+/[^/]+)/(?P<what>revision|tree|preupload|commit)"
        r"/(?P<rev>[^/]+)(?P<rest>/.*)?"
    )
    dataset_info = re.compile(r"/api/datasets/(?P<repo>[^/]+/[^/]+)")
    dataset_resolve = re.compile(
        r"/datasets/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<name>.+)"
    )

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _send(self, status: int, body: bytes, headers: dict[str, str], *, head: bool) -> None:
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(name, value)
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def _not_found(self, head: bool) -> None:
            headers = {"X-Error-Code": "RepoNotFound", "X-Error-Message": "Repository not found"}
            self._send(404, b"", headers, head=head)

        def _authorized(self) -> bool:
            header = self.headers.get("Authorization") or ""
            return header.startswith("Bearer ") and header[len("Bearer ") :] in hub.tokens

        def _json(self, payload: object, status: int = 200, head: bool = False) -> None:
            body = json.dumps(payload).encode()
            self._send(status, body, {"Content-Type": "application/json"}, head=head)

        def _unauthorized(self) -> None:
            """The Hub's answer to a write without a valid token."""
            if self.headers.get("Authorization"):
                message = "Invalid credentials in Authorization header"
                return self._send(401, b"", {"X-Error-Message": message}, head=False)
            self._not_found(head=False)

        def _answer(self, head: bool) -> None:
            path = unquote(urlsplit(self.path).path)
            authorized = self._authorized()
            hub.requests.append(Request(self.command, path, self.headers.get("Range"), authorized))
            if (match := dataset_api.fullmatch(path)) is not None and match["what"] in (
                "revision",
                "tree",
            ):
                self._dataset_api(match["repo"], match["what"], match["rev"], head)
            elif (match := dataset_info.fullmatch(path)) is not None:  # HfApi.repo_exists
                self._dataset_api(match["repo"], "revision", "main", head)
            elif (match := dataset_resolve.fullmatch(path)) is not None:
                self._dataset_file(match["repo"], match["rev"], match["name"], head)
            elif (match := api.fullmatch(path)) is not None:
                self._api(match["repo"], match["what"], head)
            elif (match := resolve.fullmatch(path)) is not None:
                self._file(match["repo"], match["name"], head)
            else:
                self._not_found(head)

        def _api(self, repo_id: str, what: str, head: bool) -> None:
            files = hub.repos.get(repo_id)
            if files is None:
                return self._not_found(head)
            if what == "revision":
                siblings = [{"rfilename": name} for name in files]
                payload: object = {"id": repo_id, "sha": hub.commit(repo_id), "siblings": siblings}
            else:
                payload = [
                    {
                        "type": "file",
                        "path": name,
                        "size": path.stat().st_size,
                        "oid": _sha256(path),
                    }
                    for name, path in files.items()
                ]
            body = json.dumps(payload).encode()
            self._send(200, body, {"Content-Type": "application/json"}, head=head)

        def _file(self, repo_id: str, name: str, head: bool) -> None:
            path = hub.repos.get(repo_id, {}).get(name)
            if path is None:
                return self._not_found(head)
            data = path.read_bytes()
            headers = {"X-Repo-Commit": hub.commit(repo_id), "ETag": f'"{_sha256(path)}"'}
            start = _range_start(self.headers.get("Range"))
            if start and not head:
                headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
                return self._send(206, data[start:], headers, head=head)
            self._send(200, data, headers, head=head)

        def _readable(self, repo_id: str) -> DatasetRepo | None:
            repo = hub.datasets.get(repo_id)
            if repo is None or (repo.private and not self._authorized()):
                return None
            return repo

        def _dataset_api(self, repo_id: str, what: str, revision: str, head: bool) -> None:
            repo = self._readable(repo_id)
            files = None if repo is None else repo.at(unquote(revision))
            if repo is None or files is None:
                return self._not_found(head)
            sha = repo.head if revision == "main" else revision
            if what == "revision":
                siblings = [{"rfilename": name} for name in files]
                payload: object = {
                    "id": repo_id,
                    "sha": sha,
                    "private": repo.private,
                    "siblings": siblings,
                }
            else:
                payload = [
                    {"type": "file", "path": name, "size": len(data), "oid": git_oid(data)}
                    for name, data in files.items()
                ]
            self._json(payload, head=head)

        def _dataset_file(self, repo_id: str, revision: str, name: str, head: bool) -> None:
            repo = self._readable(repo_id)
            files = None if repo is None else repo.at(revision)
            if repo is None or files is None:
                return self._not_found(head)
            data = files.get(name)
            if data is None:
                headers = {"X-Error-Code": "EntryNotFound", "X-Error-Message": "Entry not found"}
                return self._send(404, b"", headers, head=head)
            sha = repo.head if revision == "main" else revision
            headers = {"X-Repo-Commit": sha, "ETag": f'"{git_oid(data)}"'}
            self._send(200, data, headers, head=head)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def do_POST(self) -> None:
            path = unquote(urlsplit(self.path).path)
            authorized = self._authorized()
            hub.requests.append(Request("POST", path, None, authorized))
            body = self._body()
            if not authorized:
                return self._unauthorized()
            if path == "/api/repos/create":
                return self._create(json.loads(body))
            match = dataset_api.fullmatch(path)
            repo = hub.datasets.get(match["repo"]) if match is not None else None
            if match is None or repo is None or match["rev"] != "main":
                return self._not_found(head=False)
            if match["what"] == "preupload":
                files = repo.files
                answer = [
                    {
                        "path": item["path"],
                        "uploadMode": "regular",
                        "shouldIgnore": False,
                        "oid": git_oid(files[item["path"]]) if item["path"] in files else None,
                    }
                    for item in json.loads(body)["files"]
                ]
                return self._json({"files": answer})
            if match["what"] == "commit":
                lines = [json.loads(line) for line in body.splitlines() if line.strip()]
                summary = next(x["value"]["summary"] for x in lines if x["key"] == "header")
                added = {
                    x["value"]["path"]: base64.b64decode(x["value"]["content"])
                    for x in lines
                    if x["key"] == "file"
                }
                oid = repo.commit(summary, added)
                url = f"{hub.endpoint}/datasets/{match['repo']}/commit/{oid}"
                return self._json({"commitUrl": url, "commitOid": oid})
            self._not_found(head=False)

        def _create(self, payload: dict[str, object]) -> None:
            repo_id = f"{payload['organization']}/{payload['name']}"
            if payload.get("type") != "dataset":
                return self._send(400, b"", {"X-Error-Message": "only datasets here"}, head=False)
            url = f"{hub.endpoint}/datasets/{repo_id}"
            if repo_id in hub.datasets:
                return self._json(
                    {"error": "You already created this dataset repo", "url": url}, 409
                )
            hub.datasets[repo_id] = DatasetRepo(private=payload.get("visibility") == "private")
            self._json({"url": url, "name": repo_id})

        def do_GET(self) -> None:
            self._answer(head=False)

        def do_HEAD(self) -> None:
            self._answer(head=True)

    return Handler


@functools.cache  # the served files do not change: hash each once, not on every request
def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _range_start(header: str | None) -> int:
    match = re.fullmatch(r"bytes=(\d+)-", header or "")
    return int(match[1]) if match else 0


@contextmanager
def local_hub(
    repos: dict[str, dict[str, Path]] | None = None,
    datasets: dict[str, DatasetRepo] | None = None,
    tokens: set[str] | None = None,
) -> Iterator[LocalHub]:
    """A running hub serving ``repos`` and ``datasets`` (writable with one of ``tokens``); its
    ``endpoint`` goes into ``HF_ENDPOINT``."""
    hub = LocalHub(repos or {}, datasets=datasets or {}, tokens=tokens or set())
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(hub))
    hub.endpoint = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hub
    finally:
        server.shutdown()
        server.server_close()
