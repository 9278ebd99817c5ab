"""The benchmark cases (load, transcribe, corpus), shipped with the package so that an installed
whisperbench runs them with ``pytest --pyargs whisperbench.benchmarks``; in a source checkout
``benchmarks/`` is this folder."""
