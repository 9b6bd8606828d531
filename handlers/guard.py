"""The automatic filters on group messages (and edits): decide in memory, then delete, warn, mute or report.

This router comes first, so an ad earns no share points and is not answered by the FAQ. Exemption
(administrators, moderators, the allow-list) is checked only for the rare message a filter caught.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp

from aiogram import Bot, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Filter
from aiogram.types import Message, PhotoSize

from bot.core.announcements import Announcer
from bot.domain import ChatRef, MemberRef
from bot.i18n import Translator
from bot.middlewares.context import MEDIA_FIELDS
from bot.moderation.durations import format_duration
from bot.moderation.guard import Guard, Hit, Incoming
from bot.moderation.moderation import ModerationService, Person
from bot.platforms.telegram import refs
from bot.platforms.telegram.moderators import Moderators
from bot.qr import decode_qr
from handlers.faq import message_link
from handlers.moderation import escalation_text, failure

logger = logging.getLogger(__name__)

# Photos larger than this are not downloaded for QR codes (Telegram's largest size is about 1280 px).
QR_MAX_BYTES = 5_000_000


async def read_qr(bot: Bot, photo: list[PhotoSize]) -> list[str]:
    """Decode QR codes in the largest size Telegram made of a photo; [] when it cannot be read."""
    size = photo[-1]
    if size.file_size is not None and size.file_size > QR_MAX_BYTES:
        return []
    try:
        data = await bot.download(size.file_id)
    except (TelegramAPIError, aiohttp.ClientError, OSError, TimeoutError) as exc:
        logger.info("could not download a photo to look for QR codes: %s", exc)
        return []
    if data is None:
        return []
    return await asyncio.to_thread(decode_qr, data.getvalue())


class CaughtByFilter(Filter):
    """A group message some filter caught, from someone who is not exempt: passes {"hit": Hit}."""

    async def __call__(
        self, message: Message, bot: Bot, guard: Guard, moderators: Moderators, exempt: frozenset[int], chat_ref: ChatRef | None
    ) -> bool | dict[str, Hit]:
        user = message.from_user
        if chat_ref is None or user is None or user.is_bot or message.sender_chat is not None:
            return False  # posts made as a chat (a linked channel's forward comes from 777000, no bot) are nobody's
        text = message.text or message.caption or ""
        entities = (message.entities if message.text is not None else message.caption_entities) or ()
        media = any(getattr(message, name) is not None for name in MEDIA_FIELDS)
        if not text and not media:
            return False  # joins, leaves and other service messages
        incoming = Incoming(
            chat_ref, refs.user_ref(user), str(message.message_id), message.date, text,
            tuple(entity.url for entity in entities if entity.type == "text_link" and entity.url), media,
            edited=message.edit_date is not None,
        )  # fmt: skip
        hit = guard.check(incoming)
        if hit is None and message.photo and guard.wants_qr(chat_ref) and user.id not in exempt:
            hit = guard.check_qr(incoming, await read_qr(bot, message.photo))
        if hit is None or user.id in exempt or await moderators.can_moderate(bot, message.chat.id, user.id):
            return False
        return {"hit": hit}


def make_router() -> Router:
    router = Router(name="guard")

    # An ad edited into a message after it was posted is caught too.
    @router.edited_message(CaughtByFilter())
    @router.message(CaughtByFilter())
    async def on_caught(
        message: Message, hit: Hit, bot: Bot, member: MemberRef, moderation: ModerationService, announcer: Announcer,
        admin_chat_id: int | None, t: Translator,
    ) -> None:  # fmt: skip
        assert message.from_user is not None
        person = Person(member.user, message.from_user.full_name)
        her = announcer.for_member(member, refs.user_info(message.from_user))
        logger.info("filter %s caught message %s in chat %s (%s)", hit.filter, message.message_id, message.chat.id, hit.evidence)
        if hit.action == "report":
            await _report(message, hit, announcer, admin_chat_id)
            raise SkipHandler()  # reported only: the message goes on as usual
        reason = f"{hit.filter}: {hit.evidence}"
        # The same update handled twice (redelivered, two processes): every step is keyed, so each
        # happens once, and a redelivery still does the steps a cut-off first attempt did not reach.
        # A notice goes with the step it tells of: held back when that step was done before.
        key = refs.source_key(message)
        deleted = await moderation.act(
            "delete", member.chat, person, None, reason, source_message_id=str(message.message_id), filter=hit.filter, key=key
        )
        if not deleted.ok:  # the bot lacks the right (or the message is gone): the moderators decide
            if not deleted.repeated:
                await _report(message, hit, announcer, admin_chat_id, key="moderation.filter_cannot_delete", why=t(f"moderation.outcome_{deleted.outcome}"))
            return
        for chat, message_id in hit.others:
            await moderation.act(
                "delete", chat, person, None, reason, source_message_id=message_id, filter=hit.filter, publish=False, key=message_id
            )
        why = her(f"moderation.filter_{hit.filter}")
        if hit.action == "delete":
            if not deleted.repeated:
                await bot.send_message(message.chat.id, her("moderation.newcomer_limits", name=person.name))
        elif hit.action == "delete_mute":
            muted = await moderation.act("mute", member.chat, person, None, reason, duration=hit.mute, filter=hit.filter, key=key)
            text = her("moderation.auto_muted", name=person.name, why=why, duration=format_duration(hit.mute))
            if not muted.repeated:
                await bot.send_message(message.chat.id, text if muted.ok else failure(t, muted))
        else:
            warned = await moderation.warn(
                member.chat, person, None, reason, source_message_id=str(message.message_id), filter=hit.filter, key=key
            )
            lines = []
            if not warned.repeated:
                lines.append(her("moderation.auto_warned", name=person.name, why=why, count=warned.active, limit=warned.limit or warned.active))
            if warned.escalation is not None and not warned.escalation.repeated:
                lines.append(escalation_text(warned.escalation, person.name, warned.active, her, t))
            if lines:
                await bot.send_message(message.chat.id, "\n".join(lines))

    return router


async def _report(
    message: Message, hit: Hit, announcer: Announcer, admin_chat_id: int | None, *, key: str = "moderation.filter_report", why: str = ""
) -> None:
    if admin_chat_id is None:
        return
    author = message.from_user.full_name if message.from_user else ""
    await announcer.to_chat(
        ChatRef(refs.PLATFORM, str(admin_chat_id)),
        key,
        why=why,
        filter=hit.filter,
        evidence=hit.evidence,
        name=author,
        group=message.chat.title or str(message.chat.id),
        link=message_link(message),
    )
