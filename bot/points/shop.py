"""Redemption (积分兑换): a catalogue from config, orders, and refunds through the ledger.

A redemption is one transaction: take one from stock (a conditional increment, so the last
item goes to exactly one buyer), check the member's limit and tier, debit her points (the
database refuses a negative balance), and record the order. Any refusal rolls all of it back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.core import retry
from bot.core.errors import DomainError
from bot.core.ports import Clock, LedgerEntry, Order, UnitOfWorkFactory
from bot.domain import MemberRef, UserRef
from bot.i18n import pick
from bot.points import ledger
from bot.points.tiers import Ladder, TierService

FREEZE = "streak_freeze"


class UnknownItem(DomainError):
    code = "shop.unknown_item"


class SoldOut(DomainError):
    code = "shop.sold_out"


class LimitReached(DomainError):
    code = "shop.limit"


class TierTooLow(DomainError):
    code = "shop.tier"


class NotEnoughPoints(DomainError):
    code = "shop.not_enough"


class UnknownOrder(DomainError):
    code = "orders.unknown"


class OrderClosed(DomainError):
    code = "orders.closed"


@dataclass(frozen=True, slots=True)
class Item:
    id: str
    names: Mapping[str, str]
    cost: int
    stock: int | None = None
    per_member: int | None = None
    min_tier: str | None = None
    kind: str = "gift"  # gift: fulfilled by an operator; streak_freeze: delivered at once

    def name(self, language: str) -> str:
        return pick(self.names, language, self.id)


@dataclass(frozen=True, slots=True)
class Offer:
    item: Item
    left: int | None  # None: unlimited
    affordable: bool


@dataclass(frozen=True, slots=True)
class Redemption:
    order: Order
    balance: int
    repeated: bool = False


class ShopService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        items: Sequence[Item],
        tiers: TierService,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self.items = {item.id: item for item in items}
        self._tiers = tiers
        self._ladder: Ladder = tiers.ladder

    async def offers(self, member: MemberRef) -> tuple[list[Offer], int]:
        """Items her tier allows and that are in stock, marking which she can afford; and her balance."""
        tier = await self._tiers.tier_of(member)
        async with self._uow_factory(read_only=True) as uow:
            standing = await uow.members.standing(member)
            sold = await uow.shop.sold(list(self.items))
        balance = standing.balance if standing else 0
        offers = []
        for item in self.items.values():
            if self._ladder.index(item.min_tier) > self._ladder.index(tier.id):
                continue
            left = None if item.stock is None else item.stock - sold.get(item.id, 0)
            if left is not None and left <= 0:
                continue
            offers.append(Offer(item, left, item.cost <= balance))
        return offers, balance

    async def redeem(self, member: MemberRef, item_id: str, *, request_key: str) -> Redemption:
        item = self.items.get(item_id.lower())
        if item is None:
            raise UnknownItem(item=item_id)
        tier = await self._tiers.tier_of(member)
        if self._ladder.index(item.min_tier) > self._ladder.index(tier.id):
            raise TierTooLow(tier=self._ladder.get(item.min_tier).name)
        key = f"redeem:{request_key}"
        return await retry.on_conflict(lambda: self._redeem_once(member, item, key))

    async def _redeem_once(self, member: MemberRef, item: Item, key: str) -> Redemption:
        now = self._clock.now()
        async with self._uow_factory() as uow:
            earlier = await uow.shop.order_by_key(key)
            if earlier is not None:  # the same command delivered twice
                standing = await uow.members.standing(member)
                return Redemption(earlier, standing.balance if standing else 0, repeated=True)
            standing = await uow.members.standing(member)
            balance = standing.balance if standing else 0
            if balance < item.cost:
                raise NotEnoughPoints(balance=balance, cost=item.cost)
            if not await uow.shop.take_stock(item.id, item.stock):
                raise SoldOut(item=item.id)
            # Counted after taking stock: the stock row's lock orders this member's concurrent requests too.
            if item.per_member is not None and await uow.shop.orders_of(member, item.id) >= item.per_member:
                raise LimitReached(limit=item.per_member)
            status = "fulfilled" if item.kind == FREEZE else "pending"
            order_id = await uow.shop.add_order(member, item.id, item.cost, key, status, now)
            assert order_id is not None  # the key was checked above, in this transaction
            balances = await ledger.post_many(
                uow,
                [LedgerEntry(member, -item.cost, "redeem", idempotency_key=key, reference=f"order:{order_id}", at=now)],
            )
            if item.kind == FREEZE:
                await uow.checkins.change_freezes(member, 1)
            order = await uow.shop.get(order_id)
            await uow.commit()
        assert order is not None
        return Redemption(order, balances[key])

    async def orders(self, status: str | None = None, limit: int = 100) -> list[Order]:
        async with self._uow_factory(read_only=True) as uow:
            return await uow.shop.list(status, limit)

    async def fulfil(self, order_id: int, by: UserRef | str) -> Order:
        return await self._close(order_id, "fulfilled", by)

    async def cancel(self, order_id: int, by: UserRef | str) -> Order:
        """Cancel a pending order: the points come back through the ledger and the item goes back in stock."""
        return await self._close(order_id, "cancelled", by)

    async def _close(self, order_id: int, new: str, by: UserRef | str) -> Order:
        actor = by.external_id if isinstance(by, UserRef) else by
        async with self._uow_factory() as uow:
            order = await uow.shop.get(order_id)
            if order is None:
                raise UnknownOrder(order=order_id)
            if not await uow.shop.set_status(order_id, "pending", new, actor, self._clock.now()):
                raise OrderClosed(order=order_id, status=order.status)
            if new == "cancelled":
                await ledger.post_many(
                    uow,
                    [
                        LedgerEntry(
                            order.member,
                            order.cost,
                            "refund",
                            idempotency_key=f"refund:order:{order_id}",
                            reference=f"order:{order_id}",
                            actor=by if isinstance(by, UserRef) else None,
                            note=None if isinstance(by, UserRef) else f"cancelled by {by}"[:200],
                            at=self._clock.now(),
                        )
                    ],
                )
                await uow.shop.release_stock(order.item)
            closed = await uow.shop.get(order_id)
            await uow.commit()
        assert closed is not None
        return closed
