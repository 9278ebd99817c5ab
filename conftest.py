"""Root conftest: loads the benchmark suite's pytest plugin and the fixture modules."""

pytest_plugins = ["whisperbench.plugin", "fixtures.model_cache"]
