"""A Hugging Face Hub on 127.0.0.1, for testing downloads on machines that cannot reach the real
one: it answers the requests that ``huggingface_hub.snapshot_download`` makes (the revision and
tree APIs, then ``HEAD``/``GET`` of each file under ``resolve/``, with ``Range`` for a resumed
download) from real files, and logs every request. A repository that it does not hold gets the
Hub's own answer (``X-Error-Code: RepoNotFound``)."""

from __future__ import annotations

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

__all__ = ["LocalHub", "Request", "local_hub"]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    range: str | None


@dataclass
class LocalHub:
    """``repos``: repo id to {file name: the file served under that name}."""

    repos: dict[str, dict[str, Path]]
    endpoint: str = ""
    requests: list[Request] = field(default_factory=list)

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

        def _answer(self, head: bool) -> None:
            path = unquote(urlsplit(self.path).path)
            hub.requests.append(Request(self.command, path, self.headers.get("Range")))
            if (match := api.fullmatch(path)) is not None:
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
def local_hub(repos: dict[str, dict[str, Path]]) -> Iterator[LocalHub]:
    """A running hub serving ``repos``; its ``endpoint`` goes into ``HF_ENDPOINT``."""
    hub = LocalHub(repos)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(hub))
    hub.endpoint = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hub
    finally:
        server.shutdown()
        server.server_close()
