"""A tensor function through ``torch.compile`` (inductor), or as written where compiling fails."""

from __future__ import annotations

from collections.abc import Callable

import torch

TensorFunction = Callable[[torch.Tensor], torch.Tensor]


class CompiledOrAsWritten:
    """Calls ``function`` compiled (``fullgraph``, static shapes: one compiled code per input
    shape, up to dynamo's recompile limit, past which a shape runs as written) when
    ``enabled``; its first call compiles. If compiling fails (no C compiler for Triton's
    launcher, say), that call and every later one run as written, and ``error`` says why.
    An allocation that fails is raised as it is, not taken for a compiler failure. Only for
    functions without side effects: a failed call is simply made again."""

    def __init__(self, function: TensorFunction, enabled: bool) -> None:
        self.function = function
        self.enabled = enabled
        self.compiled: TensorFunction | None = None
        self.error: str | None = None
        """Why compiling failed, if it did."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if not self.enabled:
            return self.function(x)
        if self.compiled is None:
            self.compiled = torch.compile(self.function, fullgraph=True, dynamic=False)
        try:
            return self.compiled(x)
        except (torch.OutOfMemoryError, MemoryError):
            raise  # the input does not fit: not a compiler failure (a batch sweep's end)
        except Exception as error:  # any compiler failure: as written from now on
            self.error = f"{type(error).__name__}: {str(error).splitlines()[0]}"
            self.enabled = False
            return self.function(x)
