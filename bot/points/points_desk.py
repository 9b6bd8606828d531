"""One group-commit queue for every points event.

Check-ins, thanks and shares that arrive together are decided and written in one transaction:
each kind runs its own set-based step inside it, the transaction commits once, and only then
does each caller get her result. On SQLite, with one writer connection, this turns three queues
of small transactions into one queue of larger ones.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from bot.core import retry
from bot.core.batching import Batcher
from bot.core.ports import UnitOfWork, UnitOfWorkFactory

Step = Callable[[UnitOfWork, Sequence[Any]], Awaitable[Sequence[Any]]]


class PointsDesk:
    def __init__(self, uow_factory: UnitOfWorkFactory, *, max_batch: int = 500) -> None:
        self._uow_factory = uow_factory
        self._steps: dict[type, Step] = {}
        self._batcher: Batcher[Any, Any] = Batcher(self._process, max_batch=max_batch)

    def register(self, kind: type, step: Step) -> None:
        """``step`` decides and writes a batch of ``kind`` requests inside the shared transaction."""
        self._steps[kind] = step

    async def submit(self, request: Any) -> Any:
        return await self._batcher.submit(request)

    async def _process(self, batch: Sequence[Any]) -> list[Any]:
        return await retry.on_conflict(lambda: self._process_once(batch))

    async def _process_once(self, batch: Sequence[Any]) -> list[Any]:
        positions: dict[type, list[int]] = defaultdict(list)
        for index, request in enumerate(batch):
            positions[type(request)].append(index)
        results: list[Any] = [None] * len(batch)
        async with self._uow_factory() as uow:
            for kind, indices in positions.items():
                outcomes = await self._steps[kind](uow, [batch[index] for index in indices])
                for index, outcome in zip(indices, outcomes, strict=True):
                    results[index] = outcome
            await uow.commit()
        return results
