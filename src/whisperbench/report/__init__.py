"""Reports from saved runs, one module per concern (as pytest-benchmark keeps ``table.py``,
``csv.py`` and ``histogram.py`` apart):

- ``select``: which results a report shows (the newest of each case, per machine; each case's
  history with the regression rule's verdicts);
- ``markdown``: ``summary.md``;
- ``html``: ``index.html``, self-contained, with the plots of ``plots``;
- ``json_export``: files that github-action-benchmark reads;
- ``write``: writes the formats asked for.

The value formatters every table uses live one floor below, in ``whisperbench.formatting``,
shared with ``regressions`` and the session's results table (which loads no matplotlib). This
package imports nothing heavy itself.
"""
