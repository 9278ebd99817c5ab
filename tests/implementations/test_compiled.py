"""``CompiledOrAsWritten``: the encoder's compile switch, and its fall-back where dynamo
cannot compile a function whole."""

from __future__ import annotations

import torch

from whisperbench.implementations.compiled import CompiledOrAsWritten


def _doubled(x: torch.Tensor) -> torch.Tensor:
    return x * 2


def _data_dependent(x: torch.Tensor) -> torch.Tensor:
    if x.sum().item() > 0:  # a branch on a value: no whole graph (fullgraph=True fails)
        return x + 1
    return x - 1


def test_disabled_runs_as_written_and_compiles_nothing() -> None:
    call = CompiledOrAsWritten(_doubled, enabled=False)
    assert torch.equal(call(torch.ones(3)), torch.full((3,), 2.0))
    assert call.compiled is None and call.error is None


def test_a_function_dynamo_cannot_take_whole_runs_as_written_with_the_reason() -> None:
    call = CompiledOrAsWritten(_data_dependent, enabled=True)
    assert torch.equal(call(torch.ones(2)), torch.full((2,), 2.0))
    assert call.error is not None and not call.enabled
    assert torch.equal(call(-torch.ones(2)), torch.full((2,), -2.0))  # as written from then on
