"""/profile in the private chat: baby's due or birth date, trying to conceive, language, or delete."""

from __future__ import annotations

from datetime import date

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.core.numbers import parse_count
from bot.domain import Profile
from bot.i18n import SUPPORTED, Translator
from bot.platforms.telegram import refs
from bot.members.profiles import ProfileService, stage
from handlers.filters import IN_GROUP, IN_PRIVATE

# Sub-commands and their Chinese aliases.
ACTIONS = {
    "due": "due", "预产期": "due",
    "born": "born", "生日": "born", "出生": "born",
    "ttc": "ttc", "备孕": "ttc",
    "lang": "lang", "language": "lang", "语言": "lang",
    "delete": "delete", "删除": "delete",
    "pause": "pause", "暂停": "pause",
    "resume": "resume", "恢复": "resume",
    "milestones": "milestones", "纪念日": "milestones",
}  # fmt: skip
SWITCH = {"on": True, "开": True, "开启": True, "off": False, "关": False, "关闭": False}


def describe(profile: Profile | None, today: date, t: Translator) -> str:
    if profile is None or profile == Profile():
        return t("profile.empty")
    lines = [t("profile.header")]
    current = stage(profile, today)
    if current is not None:
        lines.append(t("profile.stage", stage=t(f"stage.{current}")))
    if profile.due_date:
        lines.append(t("profile.due", date=profile.due_date.isoformat()))
    if profile.birth_date:
        lines.append(t("profile.born", date=profile.birth_date.isoformat()))
    if profile.language:
        lines.append(t("profile.language", language=profile.language))
    if profile.streak_paused and profile.streak_paused[1] >= today:
        lines.append(t("profile.paused", date=profile.streak_paused[1].isoformat()))
    if profile.milestones:
        lines.append(t("profile.milestones_on"))
    return "\n".join(lines)


def make_router() -> Router:
    router = Router(name="profile")

    @router.message(Command("profile"), IN_PRIVATE)
    async def cmd_profile(
        message: Message, command: CommandObject, profiles: ProfileService, t: Translator
    ) -> None:
        assert message.from_user is not None
        user, today = refs.user_ref(message.from_user), profiles.today()
        action, _, value = (command.args or "").strip().partition(" ")
        action, value = ACTIONS.get(action.lower(), action), value.strip()
        if not action:
            await message.answer(f"{describe(await profiles.get(user), today, t)}\n\n{t('profile.usage')}")
            return
        if action == "delete":
            await profiles.delete(user)
            await message.answer(t("profile.deleted"))
            return
        if action == "ttc":
            profile = await profiles.set_trying(user)
        elif action == "pause" and (days := parse_count(value, maximum=366)) is not None:
            profile = await profiles.pause_streak(user, days)
        elif action == "resume":
            profile = await profiles.resume_streak(user)
        elif action == "milestones" and value.lower() in SWITCH:
            profile = await profiles.set_milestones(user, SWITCH[value.lower()])
        elif action == "lang" and value in SUPPORTED:
            profile = await profiles.set_language(user, value)
        elif action in ("due", "born") and (day := _parse_date(value)) is not None:
            setter = profiles.set_due_date if action == "due" else profiles.set_birth_date
            profile = await setter(user, day)
        else:
            await message.answer(t("profile.usage"))
            return
        await message.answer(f"{t('profile.saved')}\n{describe(profile, today, t)}")

    @router.message(Command("profile"), IN_GROUP)
    async def cmd_profile_in_group(message: Message, t: Translator) -> None:
        await message.reply(t("privacy.private_only"))

    return router


def _parse_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None
