"""Shares pay their author silently (see bot/engagement/shares.py); this module only recognises them."""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.filters import Filter
from aiogram.types import Message

from bot.domain import MemberRef
from bot.engagement.shares import Share, ShareService, file_fingerprint, link_fingerprint, post_length, text_fingerprint
from bot.platforms.telegram import refs
from handlers.filters import IN_GROUP


def share_content(message: Message, min_post_length: int) -> tuple[str, str] | None:
    """(kind, fingerprint) when the message is a share: media with a caption, a link, or a long post."""
    if (message.caption or "").strip() and (message.photo or message.video):
        file = message.video or message.photo[-1]  # type: ignore[index]
        return "media", file_fingerprint(file.file_unique_id)
    text = message.text or message.caption or ""
    for entity in message.entities or message.caption_entities or ():
        if entity.type == "text_link" and entity.url:
            return "link", link_fingerprint(entity.url)
        if entity.type == "url":
            return "link", link_fingerprint(entity.extract_from(text))
    if message.text and post_length(message.text) >= min_post_length:
        return "post", text_fingerprint(message.text)
    return None


class LooksLikeShare(Filter):
    async def __call__(self, message: Message, shares: ShareService) -> bool | dict[str, Any]:
        content = share_content(message, shares.rules.min_post_length)
        return {"content": content} if content else False


def make_router() -> Router:
    router = Router(name="shares")
    router.message.filter(LooksLikeShare())

    @router.message(IN_GROUP)
    async def on_share(
        message: Message, member: MemberRef | None, shares: ShareService, content: tuple[str, str]
    ) -> None:
        if member is None:
            return
        kind, fingerprint = content
        key = f"{refs.PLATFORM}:{message.chat.id}:{message.message_id}"
        await shares.share(Share(member=member, kind=kind, fingerprint=fingerprint, at=message.date, message_key=key))

    return router
