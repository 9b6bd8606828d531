"""Group commit: concurrent requests are answered by one transaction per batch.

Each caller awaits its own result, so nothing is acknowledged before it is committed, but
a burst of N requests costs one round of statements instead of N.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Request = TypeVar("Request")
Result = TypeVar("Result")


class Batcher(Generic[Request, Result]):
    def __init__(
        self,
        process: Callable[[Sequence[Request]], Awaitable[Sequence[Result]]],
        *,
        max_batch: int = 500,
    ) -> None:
        self._process = process
        self._max_batch = max_batch
        self._pending: list[tuple[Request, asyncio.Future[Result]]] = []
        self._worker: asyncio.Task[None] | None = None

    async def submit(self, request: Request) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending.append((request, future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._pending:
            # Yield once so requests arriving in the same loop turn join this batch.
            await asyncio.sleep(0)
            batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch :]
            try:
                results = await self._process([request for request, _ in batch])
                if len(results) != len(batch):
                    raise RuntimeError(f"batch of {len(batch)} answered with {len(results)} results")
            except BaseException as exc:  # every waiter learns of the failure; nothing is half-acknowledged
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

