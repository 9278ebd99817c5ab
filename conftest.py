"""Root conftest: loads the benchmark suite's pytest plugin, the fixture modules and pytester
(for the tests that run a pytest session in-process)."""

pytest_plugins = ["whisperbench.plugin", "fixtures.model_cache", "pytester"]
