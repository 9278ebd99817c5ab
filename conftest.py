"""Root conftest: the fixture modules and pytester (for the tests that run a pytest session
in-process). The suite's plugin is not loaded here: its ``pytest11`` entry point loads it."""

pytest_plugins = ["fixtures.model_cache", "pytester"]
