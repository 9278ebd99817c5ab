"""Hooks the whisperbench pytest plugin calls; a conftest or plugin may implement them."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.hookspec
def pytest_whisperbench_model_loaded(implementation: Any, config: pytest.Config) -> None:
    """Called once a model has been loaded, before any of its cases are timed.

    ``implementation`` is the loaded ``WhisperImplementation``. A conftest may wrap or
    instrument it here (the suite's own tests inject a slowdown this way).
    """
