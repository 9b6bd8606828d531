"""/shop and /redeem: what a member can exchange her points for, and the exchange itself."""

from __future__ import annotations

import logging
import re

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.domain import MemberRef
from bot.i18n import Translator
from bot.platforms.telegram.sender import confirm
from bot.points.shop import FREEZE, ShopService
from handlers.filters import IN_GROUP, IN_PRIVATE

logger = logging.getLogger(__name__)
ITEM_ID = re.compile(r"[A-Za-z0-9_]{1,32}")  # [shop.items] ids, typed in any case


def make_router() -> Router:
    router = Router(name="shop")

    @router.message(Command("shop"), IN_GROUP)
    async def cmd_shop(message: Message, member: MemberRef, shop: ShopService, t: Translator) -> None:
        offers, balance = await shop.offers(member)
        if not offers:
            await message.reply(t("shop.empty", balance=balance))
            return
        lines = [t("shop.header", balance=balance)]
        for offer in offers:
            key = "shop.item" if offer.left is None else "shop.item_left"
            line = t(key, id=offer.item.id, name=offer.item.name(t.language), cost=offer.item.cost, left=offer.left)
            lines.append(line if offer.affordable else f"{line} {t('shop.cannot_afford')}")
        lines.append(t("shop.how"))
        await message.reply("\n".join(lines))

    @router.message(Command("redeem"), IN_GROUP)
    async def cmd_redeem(
        message: Message, command: CommandObject, member: MemberRef, shop: ShopService, t: Translator
    ) -> None:
        item_id = (command.args or "").strip()
        if not ITEM_ID.fullmatch(item_id):  # item ids are short words (see [shop.items]); anything else is a slip
            await message.reply(t("shop.usage"))
            return
        result = await shop.redeem(member, item_id, request_key=f"{message.chat.id}:{message.message_id}")
        item = shop.items[result.order.item]
        key = "shop.freeze_bought" if item.kind == FREEZE else "shop.redeemed"
        text = t(key, name=item.name(t.language), cost=item.cost, balance=result.balance, order=result.order.id)
        await confirm(message.reply(text), f"order {result.order.id}", message.chat.id)  # the points are spent: never "try again"

    @router.message(Command("shop", "redeem"), IN_PRIVATE)
    async def cmd_shop_private(message: Message, t: Translator) -> None:
        await message.answer(t("points.group_only"))

    return router
