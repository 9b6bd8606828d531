"""aiogram routers, assembled in a fixed order: error handling first, then features.

Command routers hang under one parent whose root filter lets through only messages that
start with "/", so the plain chat messages that make up most traffic skip every command
filter in a single check.
"""

from __future__ import annotations

from aiogram import Dispatcher, Router

from handlers import (
    awards, badges, checkin, errors, faq, guard, moderation, orders, points, privacy, profile, reports, schedule, shares, shop,
    start, thanks, top, welcome,
)  # fmt: skip
from handlers.filters import LooksLikeCommand


def install(dispatcher: Dispatcher) -> None:
    errors.register(dispatcher)
    dispatcher.include_routers(
        guard.make_router(),
        welcome.make_router(),
        make_command_router(),
        schedule.make_router(),
        faq.make_urgent_router(),
        thanks.make_router(),
        shares.make_router(),
        faq.make_passive_router(),
    )


def make_command_router() -> Router:
    commands = Router(name="commands")
    commands.message.filter(LooksLikeCommand())
    commands.include_routers(
        start.make_router(),
        checkin.make_router(),
        points.make_router(),
        awards.make_router(),
        privacy.make_router(),
        profile.make_router(),
        top.make_router(),
        shop.make_router(),
        badges.make_router(),
        orders.make_router(),
        faq.make_router(),
        moderation.make_router(),
        reports.make_router(),
    )
    return commands
