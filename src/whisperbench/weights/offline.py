"""Are we offline? The one place that decides whether the Hugging Face Hub may be asked.

Offline means HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) is set now, or was when huggingface_hub
was imported (it keeps its own constant). ``go_offline`` sets both for this process; a hub
request that fails for want of a network is recognised by ``is_network_error``.
"""

from __future__ import annotations

import os

from huggingface_hub import constants as hub_constants
from huggingface_hub.errors import LocalEntryNotFoundError, OfflineModeIsEnabled

__all__ = ["go_offline", "hub_offline", "is_network_error"]

_TRUE = {"1", "on", "yes", "true"}
_NETWORK_ERROR_NAMES = {
    "ConnectError",
    "ConnectTimeout",
    "ReadTimeout",
    "TimeoutException",
    "NetworkError",
    "TransportError",
    "ProxyError",
}


def hub_offline() -> bool:
    """True when no Hub request may be made: HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE, read now
    as well as at huggingface_hub's import."""
    env = os.environ
    flag = env.get("HF_HUB_OFFLINE") or env.get("TRANSFORMERS_OFFLINE") or ""
    return flag.strip().lower() in _TRUE or bool(hub_constants.HF_HUB_OFFLINE)


def go_offline() -> None:
    """No Hub request from anything in this process (tokenizer or config look-ups included):
    huggingface_hub reads HF_HUB_OFFLINE at import, so its constant is set as well."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    hub_constants.HF_HUB_OFFLINE = True


def is_network_error(exc: BaseException) -> bool:
    """True when ``exc`` (or what it was raised from) says the Hub cannot be reached."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(
            current, OfflineModeIsEnabled | LocalEntryNotFoundError | ConnectionError | TimeoutError
        ):
            return True
        if any(cls.__name__ in _NETWORK_ERROR_NAMES for cls in type(current).__mro__):
            return True
        current = current.__cause__ or current.__context__
    return False
