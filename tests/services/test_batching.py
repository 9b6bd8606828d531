"""Batcher: group commit of concurrent requests, each caller awaiting its own result."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from bot.core.batching import Batcher
from tests.services.fakes import loop_turns_until


class Recorder:
    """A ``process`` function that records its batches and can be told to fail some of them."""

    def __init__(self, fail_batches: Sequence[int] = (), gate: asyncio.Event | None = None) -> None:
        self.batches: list[list[int]] = []
        self.fail_batches = set(fail_batches)
        self.gate = gate

    async def __call__(self, requests: Sequence[int]) -> list[str]:
        self.batches.append(list(requests))
        if self.gate is not None:
            await self.gate.wait()
        if len(self.batches) - 1 in self.fail_batches:
            raise ValueError(f"batch {len(self.batches) - 1} failed")
        return [f"result-{request}" for request in requests]



async def test_each_caller_gets_the_result_of_its_own_request_in_order() -> None:
    process = Recorder()
    batcher = Batcher(process)

    results = await asyncio.gather(*(batcher.submit(i) for i in range(10)))

    assert results == [f"result-{i}" for i in range(10)]
    assert process.batches == [list(range(10))]  # in submission order


async def test_each_result_is_matched_to_its_request_by_position() -> None:
    async def lengths(requests: Sequence[str]) -> list[int]:
        return [len(request) for request in requests]

    batcher = Batcher(lengths)

    results = await asyncio.gather(batcher.submit("a"), batcher.submit("bbb"), batcher.submit("cc"))

    assert results == [1, 3, 2]


async def test_requests_submitted_in_the_same_loop_turn_are_processed_together() -> None:
    process = Recorder()
    batcher = Batcher(process)

    # Plain tasks created one after another: all of them submit before the worker's first turn.
    tasks = [asyncio.create_task(batcher.submit(i)) for i in range(25)]
    await asyncio.gather(*tasks)

    assert process.batches == [list(range(25))]


async def test_a_request_made_while_the_worker_starts_joins_the_first_batch() -> None:
    process = Recorder()
    batcher = Batcher(process)
    first = asyncio.create_task(batcher.submit(1))
    await asyncio.sleep(0)  # `first` has submitted and started the worker in this turn
    second = asyncio.create_task(batcher.submit(2))  # submits in the worker's first turn

    assert await asyncio.gather(first, second) == ["result-1", "result-2"]
    assert process.batches == [[1, 2]]


async def test_requests_arriving_during_processing_form_the_next_batch() -> None:
    gate = asyncio.Event()
    process = Recorder(gate=gate)
    batcher = Batcher(process)
    first = [asyncio.create_task(batcher.submit(i)) for i in range(3)]
    await loop_turns_until(lambda: process.batches)
    second = [asyncio.create_task(batcher.submit(i)) for i in range(3, 5)]
    await asyncio.sleep(0)
    assert process.batches == [[0, 1, 2]]  # the late requests wait for the running batch
    assert not any(task.done() for task in first + second)

    gate.set()
    results = await asyncio.gather(*first, *second)

    assert process.batches == [[0, 1, 2], [3, 4]]
    assert results == [f"result-{i}" for i in range(5)]


async def test_max_batch_splits_a_burst_into_batches_in_order() -> None:
    process = Recorder()
    batcher = Batcher(process, max_batch=4)

    results = await asyncio.gather(*(batcher.submit(i) for i in range(10)))

    assert process.batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert results == [f"result-{i}" for i in range(10)]


async def test_an_exception_reaches_every_waiter_of_its_batch_and_the_next_batch_still_runs() -> None:
    process = Recorder(fail_batches=[0])
    batcher = Batcher(process, max_batch=3)

    async with asyncio.timeout(2):  # a guard: a worker that died with the failed batch would strand [3, 4]
        outcomes = await asyncio.gather(*(batcher.submit(i) for i in range(5)), return_exceptions=True)

    assert process.batches == [[0, 1, 2], [3, 4]]
    failed, succeeded = outcomes[:3], outcomes[3:]
    assert all(isinstance(outcome, ValueError) and str(outcome) == "batch 0 failed" for outcome in failed)
    assert succeeded == ["result-3", "result-4"]


async def test_the_batcher_keeps_working_after_a_failed_batch() -> None:
    process = Recorder(fail_batches=[0])
    batcher = Batcher(process)

    with pytest.raises(ValueError):
        await batcher.submit(1)

    async with asyncio.timeout(2):  # a guard against a stranded request
        assert await batcher.submit(2) == "result-2"
    assert process.batches == [[1], [2]]


async def test_a_cancelled_waiter_does_not_disturb_the_others() -> None:
    gate = asyncio.Event()
    process = Recorder(gate=gate)
    batcher = Batcher(process)
    tasks = [asyncio.create_task(batcher.submit(i)) for i in range(3)]
    await loop_turns_until(lambda: process.batches)

    tasks[1].cancel()
    gate.set()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)

    assert outcomes[0] == "result-0" and outcomes[2] == "result-2"
    assert isinstance(outcomes[1], asyncio.CancelledError)
    assert await batcher.submit(9) == "result-9"


async def test_an_idle_batcher_starts_again_on_the_next_request() -> None:
    process = Recorder()
    batcher = Batcher(process)

    assert await batcher.submit(1) == "result-1"
    await asyncio.sleep(0)  # the worker has drained and finished
    assert await batcher.submit(2) == "result-2"

    assert process.batches == [[1], [2]]


async def test_a_process_returning_the_wrong_number_of_results_fails_every_waiter_of_the_batch() -> None:
    calls = 0

    async def short_once(requests: Sequence[int]) -> list[str]:
        nonlocal calls
        calls += 1
        results = [f"result-{request}" for request in requests]
        return results[:-1] if calls == 1 else results  # a bug in the first call: one result missing

    batcher = Batcher(short_once)

    async with asyncio.timeout(2):  # a guard: a waiter left without an answer would hang here
        outcomes = await asyncio.gather(*(batcher.submit(i) for i in range(3)), return_exceptions=True)
        # Nothing half-acknowledged: not even the requests that did get a result.
        assert all(isinstance(outcome, Exception) for outcome in outcomes)
        assert await batcher.submit(9) == "result-9"  # the worker survived
