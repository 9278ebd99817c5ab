"""What the tests share beyond fixtures, in one package: engines and suite sessions to run
(``engine_helpers``, ``bench_runs``, ``fault_sessions``), the test-only pytest plugins
(``fault_injection``, ``regression_injection``), a local hub (``hub_server``), caches
(``cache_helpers``), conversion inputs, recorded evidence and installed distributions."""
