"""``CompiledOrAsWritten``: the encoder's compile switch, and its fall-back where dynamo
cannot compile a function whole."""

from __future__ import annotations

import pytest
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


def _out_of_memory(x: torch.Tensor) -> torch.Tensor:
    raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


def test_an_allocation_that_fails_is_raised_and_compiling_stays_on() -> None:
    """Out of memory is the input's size, not the compiler: it propagates (a batch sweep ends
    there) and the next, smaller input is still compiled."""
    call = CompiledOrAsWritten(_doubled, enabled=True)
    call.compiled = _out_of_memory  # what the compiled code raises when the batch does not fit
    with pytest.raises(torch.OutOfMemoryError):
        call(torch.ones(2))
    assert call.enabled and call.error is None
