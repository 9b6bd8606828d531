"""Running the bot against Telegram: long polling or a webhook server, with a clean shutdown."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import signal
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError, TelegramUnauthorizedError
from aiogram.types import Update
from aiohttp import web

from bot.app import App, build_dispatcher
from bot.domain import ChatRef
from bot.platforms.telegram import outgoing
from bot.platforms.telegram.group_control import TelegramGroupControl, TelegramModerationLog
from bot.platforms.telegram.notifier import TelegramNotifier
from bot.platforms.telegram.sender import Limits, Sender
from bot.platforms.telegram.refs import PLATFORM
from bot.platforms.telegram.commands import set_command_menus
from bot.platforms.telegram.rejected import DEFAULT_DIRECTORY, save_rejected

logger = logging.getLogger(__name__)

ALLOWED_UPDATES = [
    "message",
    "edited_message",
    "callback_query",
    "poll_answer",
    "chat_member",
    "my_chat_member",
    "message_reaction",
]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class StartupError(Exception):
    """The bot cannot start; the message is one sentence for the operator."""


def make_bot(token: str, api_base: str = "") -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_base)) if api_base else AiohttpSession()
    return Bot(token, session=session)


async def prepare(bot: Bot, app: App) -> None:
    """Check the token, publish the command menus and warn when privacy mode hides group messages."""
    try:
        me = await bot.get_me()
    except TelegramUnauthorizedError:
        raise StartupError(
            "Telegram rejected the bot token: copy it again from @BotFather into [telegram].token "
            "of your config (or CRADLE_TELEGRAM__TOKEN)."
        ) from None
    except (TelegramNetworkError, OSError, TimeoutError) as exc:
        where = app.settings.telegram.api_base or "https://api.telegram.org"
        raise StartupError(
            f"Cannot reach the Telegram Bot API at {where} ({_reason(exc)}): check the network, or "
            "[telegram].api_base in your config (CRADLE_TELEGRAM__API_BASE) if you use your own Bot API server."
        ) from None
    logger.info("connected as @%s (id %s)", me.username, me.id)
    install_sender(bot, app)
    attach(bot, app)
    # SIGHUP reloads the schedule file (it is also reloaded when it changes).
    asyncio.get_running_loop().add_signal_handler(
        signal.SIGHUP, lambda: asyncio.ensure_future(app.schedule_watcher.reload())
    )
    await set_command_menus(bot, app.i18n, app.settings.community.language)
    if not me.can_read_all_group_messages:
        logger.warning("privacy mode is on: the bot sees only commands and replies in groups")
        admin_chat = app.settings.community.admin_chat_id
        if admin_chat is not None:
            t = app.i18n.translators[app.settings.community.language]
            try:
                await bot.send_message(admin_chat, t("admin.privacy_mode_on"))
            except TelegramAPIError as exc:
                logger.warning("could not warn the admin chat %s: %s", admin_chat, exc)


def attach(bot: Bot, app: App) -> None:
    """Give the services their Telegram ports: messages, moderation steps and the moderation log chat."""
    outgoing.install(bot)  # texts fitted to Telegram's limits, replies as reply_parameters
    app.notifiers.register(PLATFORM, TelegramNotifier(bot))
    app.controls.register(PLATFORM, TelegramGroupControl(bot, app.moderators, clock=app.clock))
    log_chat = app.settings.moderation.log_chat_id or app.settings.community.admin_chat_id
    app.moderation.log = TelegramModerationLog(bot, log_chat) if log_chat is not None else None


def install_sender(bot: Bot, app: App) -> Sender:
    """Every send goes through one paced sender; a group that removed the bot stops getting posts."""
    limits = app.settings.telegram.limits

    async def chat_gone(chat_id: int) -> None:
        await app.posts.chat_gone(ChatRef(PLATFORM, str(chat_id)))

    sender = Sender(
        Limits(limits.per_second, limits.per_group_per_minute, limits.per_chat_per_second, limits.chat_burst, limits.retries,
               limits.retry_for),
        on_chat_gone=chat_gone,
    )
    bot.session.middleware(sender)
    return sender


async def run_polling(app: App, bot: Bot) -> None:
    dispatcher = build_dispatcher(app)
    await app.start()
    try:
        await prepare(bot, app)
        await bot.delete_webhook(drop_pending_updates=False)
        # Not aiogram's start_polling: it confirms updates as soon as they are fetched (see polling.py).
        from bot.middlewares.dedupe import is_transient
        from bot.platforms.telegram.polling import Poller

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        rejected_dir = app.settings.telegram.rejected_dir
        poller = Poller(
            bot,
            dispatcher,
            allowed_updates=ALLOWED_UPDATES,
            on_rejected=lambda raw, reason: save_rejected(raw, reason, directory=rejected_dir),
            transient=is_transient,
        )
        # SIGTERM/SIGINT: stop fetching, finish the updates in flight; app.stop() below flushes.
        await poller.run(stop)
    finally:
        await app.stop()
        await bot.session.close()


async def run_webhook(app: App, bot: Bot) -> None:
    settings = app.settings.telegram.webhook
    if not settings.url:
        raise StartupError("Webhook mode needs [telegram.webhook].url, the public HTTPS address Telegram should call.")
    if not settings.secret.get_secret_value():
        raise StartupError(
            "Webhook mode needs [telegram.webhook].secret (or CRADLE_TELEGRAM__WEBHOOK__SECRET), 1-256 characters of "
            "A-Z, a-z, 0-9, _ and -, so that only Telegram can post updates to the bot."
        )
    dispatcher = build_dispatcher(app)
    await app.start()
    runner: web.AppRunner | None = None
    try:
        await prepare(bot, app)
        web_app = web.Application()
        web_app.router.add_post(
            settings.path,
            webhook_handler(
                dispatcher, bot, settings.secret.get_secret_value(), rejected_dir=app.settings.telegram.rejected_dir
            ),
        )
        runner = web.AppRunner(web_app)
        await runner.setup()
        await web.TCPSite(runner, settings.listen_host, settings.listen_port).start()
        await bot.set_webhook(
            settings.url,
            secret_token=settings.secret.get_secret_value(),
            allowed_updates=ALLOWED_UPDATES,
        )
        logger.info("webhook listening on %s:%s%s", settings.listen_host, settings.listen_port, settings.path)
        await _wait_for_signal()
    finally:
        if runner is not None:
            await runner.cleanup()  # stop taking updates; in-flight requests finish first
        await app.stop()
        await bot.session.close()


def webhook_handler(  # type: ignore[no-untyped-def]
    dispatcher: Dispatcher, bot: Bot, secret: str, *, rejected_dir: str | os.PathLike[str] = DEFAULT_DIRECTORY
):
    """Answer Telegram only after the update is processed.

    aiogram's stock handler answers first and works in the background, so a crash would lose the
    update. Here a failure answers 500 and Telegram redelivers; the dedupe middleware makes the
    redelivery harmless (and gives up on an update that keeps failing, see bot/middlewares/dedupe.py).

    Only requests carrying ``secret`` are read (401 otherwise; there is no open mode). A body that is
    not an update aiogram can read (not JSON, nested too deeply, a shape it does not know) fails the
    same way on every redelivery, and Telegram redelivers anything that is not a 2xx: it is answered
    200, logged and saved under ``rejected_dir`` (bot/platforms/telegram/rejected.py).
    """
    if not secret:
        raise ValueError("the webhook needs a secret token")
    expected = secret.encode()

    async def handle(request: web.Request) -> web.Response:
        if not hmac.compare_digest(request.headers.get(SECRET_HEADER, "").encode(), expected):
            return web.Response(status=401, text="bad secret token")
        body = await request.read()
        raw: Any = None
        try:
            raw = json.loads(body)
            update = Update.model_validate(raw, context={"bot": bot})
        except (ValueError, RecursionError) as exc:  # JSON or validation errors; too deep a nesting
            reason = f"not an update: {_reason(exc)}"
            logger.error("webhook request rejected: %s", reason)
            save_rejected(raw if isinstance(raw, dict) else body, reason, directory=rejected_dir)
            return web.Response(status=200, text="rejected")
        try:
            await dispatcher.feed_update(bot, update)
        except Exception:
            logger.error("update %s failed; asking Telegram to redeliver", update.update_id)
            return web.Response(status=500)
        return web.Response(status=200)

    return handle


def _reason(exc: BaseException) -> str:
    """The first line of an exception, short enough for a log line or a start-up sentence."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


async def _wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    logger.info("stop requested; finishing in-flight updates")
