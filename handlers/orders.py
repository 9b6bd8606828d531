"""Orders from the admin chat: /orders, /fulfil N, /cancel N (operators and the admin chat's admins)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject, Filter
from aiogram.types import Message

from bot.core.numbers import parse_count
from bot.domain import UserInfo, UserRef
from bot.i18n import Translator
from bot.core.announcements import Announcer
from bot.core.ports import Order
from bot.points.shop import ShopService
from handlers.filters import IsModerator


class InAdminChat(Filter):
    async def __call__(self, message: Message, admin_chat_id: int | None) -> bool:
        return admin_chat_id is not None and message.chat.id == admin_chat_id


def describe(order: Order, shop: ShopService, t: Translator) -> str:
    item = shop.items.get(order.item)
    return t(
        "orders.line",
        id=order.id,
        item=item.name(t.language) if item else order.item,
        cost=order.cost,
        name=order.member_name or order.member.user.external_id,
        status=t(f"orders.status_{order.status}"),
        date=order.created_at.date().isoformat(),
    )


def make_router() -> Router:
    router = Router(name="orders")
    router.message.filter(InAdminChat(), IsModerator())

    @router.message(Command("orders"))
    async def cmd_orders(message: Message, command: CommandObject, shop: ShopService, t: Translator) -> None:
        status = (command.args or "pending").strip().lower()
        if status not in ("pending", "fulfilled", "cancelled", "all"):
            await message.reply(t("orders.usage"))
            return
        orders = await shop.orders(None if status == "all" else status, limit=50)
        if not orders:
            await message.reply(t("orders.none"))
            return
        await message.reply("\n".join(describe(order, shop, t) for order in orders))

    @router.message(Command("fulfil", "fulfill", "cancel"))
    async def cmd_close(
        message: Message, command: CommandObject, actor: UserRef, shop: ShopService, announcer: Announcer, t: Translator
    ) -> None:
        number = parse_count((command.args or "").strip().lstrip("#"))
        if not number:  # not a number, or beyond any order's
            await message.reply(t("orders.usage"))
            return
        cancel = command.command == "cancel"
        order = await (shop.cancel if cancel else shop.fulfil)(number, actor)
        await message.reply(describe(order, shop, t))
        item = shop.items.get(order.item)
        await announcer.to_member(
            order.member,
            UserInfo(order.member_name, order.member_language),
            "orders.cancelled_notice" if cancel else "orders.fulfilled_notice",
            id=order.id,
            item=item.name if item else order.item,
            cost=order.cost,
        )

    return router
