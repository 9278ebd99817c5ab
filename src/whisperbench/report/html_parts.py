"""The HTML pieces every page section shares: a table with its numeric columns aligned, and
an embedded PNG (``index.html`` and the per-device leaderboard)."""

from __future__ import annotations

import html
from collections.abc import Collection, Sequence


def table(
    header: Sequence[str], rows: Sequence[Sequence[str]], numeric: Collection[str] = ()
) -> str:
    """Rows under ``header``; the cells of the ``numeric`` headers right-aligned."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{html.escape(cell)}</td>'
            if h in numeric
            else f"<td>{html.escape(cell)}</td>"
            for h, cell in zip(header, row, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def image(data: str | None, alt: str) -> str:
    if data is None:
        return f"<p><em>{html.escape(alt)}: no data</em></p>"
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'
