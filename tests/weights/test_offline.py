"""The one decision of "are we offline?", and what counts as a network error."""

from __future__ import annotations

import pytest
from huggingface_hub import constants
from huggingface_hub.errors import OfflineModeIsEnabled

from whisperbench.weights.offline import go_offline, hub_offline, is_network_error


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    return monkeypatch


def test_offline_is_read_from_the_environment_now(online: pytest.MonkeyPatch) -> None:
    assert not hub_offline()
    for value in ("1", "ON", "yes", "true"):
        online.setenv("HF_HUB_OFFLINE", value)
        assert hub_offline(), value
    online.setenv("HF_HUB_OFFLINE", "0")
    online.setenv("TRANSFORMERS_OFFLINE", "1")
    assert not hub_offline()  # HF_HUB_OFFLINE, when set, wins (as in huggingface_hub)
    online.delenv("HF_HUB_OFFLINE")
    assert hub_offline()


def test_huggingface_hubs_own_constant_counts_too(online: pytest.MonkeyPatch) -> None:
    online.setattr(constants, "HF_HUB_OFFLINE", True)
    assert hub_offline()


def test_go_offline_sets_both(online: pytest.MonkeyPatch) -> None:
    go_offline()
    assert constants.HF_HUB_OFFLINE is True
    assert hub_offline()


def test_network_errors_are_found_through_their_causes() -> None:
    assert is_network_error(OfflineModeIsEnabled("offline"))
    http = pytest.importorskip("httpx2", reason="huggingface_hub's HTTP client here")
    assert is_network_error(http.ConnectError("refused"))
    try:
        try:
            raise ConnectionRefusedError("refused")
        except OSError as inner:
            raise RuntimeError("the hub could not be reached") from inner
    except RuntimeError as outer:
        assert is_network_error(outer)
    assert not is_network_error(ValueError("a gated repo"))
