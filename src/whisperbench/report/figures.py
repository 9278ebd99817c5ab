"""What every figure of the report shares: a figure as a base64 PNG (matplotlib's Agg canvas:
no GUI backend and no pyplot state), and the name of an engine's series in a legend."""

from __future__ import annotations

import base64
import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from whisperbench.history import CaseKey


def png(fig: Figure) -> str:
    buffer = io.BytesIO()
    FigureCanvasAgg(fig)
    fig.savefig(buffer, format="png", dpi=100)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def series_label(key: CaseKey, configs: set[tuple[str, str, str]]) -> str:
    """The implementation, with device/dtype/quantisation when the machine has several."""
    if len(configs) <= 1:
        return key.implementation
    quant = "" if key.quantization in ("none", "-") else f" {key.quantization}"
    return f"{key.implementation} ({key.device} {key.dtype}{quant})"
