"""aiogram routers, assembled in a fixed order: error handling first, then features.

Command routers hang under one parent whose root filter lets through only messages that
start with "/", so the plain chat messages that make up most traffic skip every command
filter in a single check.
"""

from __future__ import annotations

from aiogram import Dispatcher, Router

from handlers import (
    awards, buttons, badges, checkin, errors, faq, guard, moderation, orders, points, privacy, profile, reports, schedule, shares, shop,
    start, thanks, top, welcome,
)  # fmt: skip
from handlers.filters import AS_MEMBER, LooksLikeCommand


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
        buttons.make_router(),  # last: button data nobody took is answered, never left spinning
    )


def make_command_router() -> Router:
    commands = Router(name="commands")
    commands.message.filter(LooksLikeCommand())
    # Commands about the sender's own points, profile or standing need a member: a group message sent
    # on behalf of a chat (a channel, an anonymous administrator) has none, so these routers never see
    # it; /checkin from one gets a polite line instead. Moderators' commands take anonymous
    # administrators as the group itself (see IsModerator).
    members = Router(name="member_commands")
    members.message.filter(AS_MEMBER)
    members.include_routers(
        checkin.make_router(),
        points.make_router(),
        awards.make_router(),
        privacy.make_router(),
        profile.make_router(),
        top.make_router(),
        shop.make_router(),
        badges.make_router(),
    )
    reporting = Router(name="member_reports")
    reporting.message.filter(AS_MEMBER)
    reporting.include_router(reports.make_router())
    commands.include_routers(
        start.make_router(),
        members,
        checkin.make_as_chat_router(),
        orders.make_router(),  # admin chat, moderators (an anonymous administrator too)
        faq.make_router(),
        moderation.make_router(),
        reporting,
    )
    return commands
