"""The benchmark suite: the pytest plugin (``plugin``, a ``pytest11`` entry point: hooks
only) and the one session object its hooks hand off to (``session``); the options
(``options``), the cases (``cases``), the models loaded once and released after their last case
(``pool``), the clips and corpora (``inputs``), one measured case -> a typed record
(``measure``); the summary table (``tables``), progress lines (``progress``), the run's record
and safe saving (``session_guard``, ``storage_lock``, ``run_storage``, ``session_signals``) and
the hooks a conftest may implement (``hookspecs``)."""
