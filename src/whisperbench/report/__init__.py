"""Reports from saved runs, one module per concern (as pytest-benchmark keeps ``table.py``,
``csv.py`` and ``histogram.py`` apart):

- ``select``: which results a report shows (the newest of each case, per machine; each case's
  history with the regression rule's verdicts);
- ``formatting``: the one set of value formatters (every table, compare and check use it);
- ``markdown``: ``summary.md``;
- ``html``: ``index.html``, self-contained, with the plots of ``plots``;
- ``json_export``: files that github-action-benchmark reads;
- ``write``: writes the formats asked for.

This package imports nothing heavy itself: ``formatting`` is used by the session's results
table without loading matplotlib.
"""
