"""The fake Bot API behaves like Telegram for aiogram, over HTTP and in-process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.methods import TelegramMethod
from aiogram.types import ChatPermissions, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from aiohttp import web

from bot.testing.fake_bot_api import FakeTelegram, main
from bot.testing.fake_bot_api_server import FakeBotAPIServer
from bot.testing.session import FakeSession

GROUP = -1001234567890
MAMA = 1001
NOW = 1_700_000_000


class FrobnicateChat(TelegramMethod[bool]):
    """A method Telegram does not have."""

    __returning__ = bool
    __api_method__ = "frobnicateChat"

    chat_id: int


class Clock:
    """Manual monotonic clock for the rate limiter."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class LocalAiohttpSession(AiohttpSession):
    """aiogram's real HTTP session, minus the 250 ms TLS grace sleep in close() (plain HTTP here)."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def http_bot(server: FakeBotAPIServer, token: str = "42:TEST") -> Bot:
    return Bot(token, session=LocalAiohttpSession(api=TelegramAPIServer.from_base(server.base_url)))


@pytest.fixture
async def fake() -> FakeTelegram:
    fake = FakeTelegram(clock=lambda: NOW)
    fake.add_chat(GROUP, "Mamas")
    return fake


@pytest.fixture
async def server(fake: FakeTelegram) -> AsyncIterator[FakeBotAPIServer]:
    async with FakeBotAPIServer(fake) as server:
        yield server


@pytest.fixture
async def bot(server: FakeBotAPIServer) -> AsyncIterator[Bot]:
    bot = http_bot(server)
    yield bot
    await bot.session.close()


# ------------------------------------------------------------------ aiogram over HTTP


async def test_aiogram_bot_gets_me_over_http(bot: Bot) -> None:
    me = await bot.get_me()

    assert (me.id, me.is_bot, me.username) == (42, True, "cradle_test_bot")
    assert me.can_join_groups and me.can_read_all_group_messages
    assert me.supports_inline_queries is False


async def test_sent_message_is_visible_to_sent_messages_and_wait_for_message(bot: Bot, fake: FakeTelegram) -> None:
    keyboard = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="OK", callback_data="ok")]])
    first = await bot.send_message(GROUP, "Welcome, mama!", reply_markup=keyboard)
    second = await bot.send_message(GROUP, "Second")

    assert (first.message_id, second.message_id) == (1, 2)
    assert first.from_user is not None and first.from_user.id == fake.bot_id
    assert first.reply_markup is not None and first.reply_markup.model_dump() == keyboard.model_dump()
    assert [m["text"] for m in fake.sent_messages(GROUP)] == ["Welcome, mama!", "Second"]
    found = await fake.wait_for_message(GROUP, contains="Welcome")
    assert found[0]["message_id"] == 1


async def test_wait_for_message_times_out_listing_what_was_sent(bot: Bot, fake: FakeTelegram) -> None:
    await bot.send_message(GROUP, "Hello")

    with pytest.raises(TimeoutError, match="Hello"):
        await fake.wait_for_message(GROUP, contains="Goodbye", timeout=0.05)


async def test_reply_to_known_message_carries_reply_to_message(bot: Bot, fake: FakeTelegram) -> None:
    asked = fake.user_message(GROUP, MAMA, "Is 38.5 a fever?")["message"]

    answer = await bot.send_message(GROUP, "Yes", reply_parameters=ReplyParameters(message_id=asked["message_id"]))

    assert answer.reply_to_message is not None
    assert answer.reply_to_message.text == "Is 38.5 a fever?"
    with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
        await bot.send_message(GROUP, "Yes", reply_parameters=ReplyParameters(message_id=999))


async def test_quiz_poll_is_sent_and_stopped(bot: Bot, fake: FakeTelegram) -> None:
    message = await bot.send_poll(
        GROUP, "When to start solids?", ["4 months", "6 months"],
        type="quiz", correct_option_ids=[1], is_anonymous=False, explanation="WHO says 6",
    )

    poll = message.poll
    assert poll is not None
    assert (poll.type, poll.is_anonymous, poll.is_closed) == ("quiz", False, False)
    assert [o.text for o in poll.options] == ["4 months", "6 months"]
    assert poll.correct_option_ids == [1] and poll.explanation == "WHO says 6"
    fake.poll_answer(poll.id, MAMA, [1])
    stopped = await bot.stop_poll(GROUP, message.message_id)
    assert stopped.is_closed and stopped.options[1].voter_count == 1
    assert fake.sent_messages(GROUP)[0]["poll"]["question"] == "When to start solids?"


async def test_ban_and_restrict_are_recorded_and_change_member_status(bot: Bot, fake: FakeTelegram) -> None:
    fake.user_joins(GROUP, MAMA)
    until = NOW + 3600

    await bot.restrict_chat_member(GROUP, MAMA, ChatPermissions(can_send_messages=False), until_date=until)
    restricted = await bot.get_chat_member(GROUP, MAMA)
    await bot.ban_chat_member(GROUP, MAMA)
    banned = await bot.get_chat_member(GROUP, MAMA)

    assert restricted.status == "restricted" and restricted.can_send_messages is False
    assert int(restricted.until_date.timestamp()) == until
    assert banned.status == "kicked"
    (restrict,) = fake.calls("restrictChatMember")
    assert restrict.params["permissions"] == {"can_send_messages": False}
    assert restrict.params["until_date"] == until
    assert [c.params["user_id"] for c in fake.calls("banChatMember")] == [MAMA]
    with pytest.raises(PermissionError):
        fake.user_message(GROUP, MAMA, "let me in")


async def test_admins_are_listed_and_protected_from_bans(bot: Bot, fake: FakeTelegram) -> None:
    fake.set_admin(GROUP, 7, status="creator")

    admins = await bot.get_chat_administrators(GROUP)

    assert {(a.user.id, a.status) for a in admins} == {(7, "creator"), (42, "administrator")}
    with pytest.raises(TelegramBadRequest, match="can't remove chat owner"):
        await bot.ban_chat_member(GROUP, 7)


# ------------------------------------------------------------------ updates


async def test_long_poll_returns_injected_message_and_offset_confirms_it(bot: Bot, fake: FakeTelegram) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await fake.wait_until(lambda: fake.long_polls_waiting)
    started = time.monotonic()
    fake.user_message(GROUP, MAMA, "/checkin@cradle_test_bot today")

    (update,) = await poll
    assert time.monotonic() - started < 2
    assert update.message is not None and update.message.text == "/checkin@cradle_test_bot today"
    entity = update.message.entities[0]
    assert (entity.type, entity.offset, entity.length) == ("bot_command", 0, len("/checkin@cradle_test_bot"))
    assert await bot.get_updates(offset=update.update_id + 1) == []
    assert fake.pending_updates == []


async def test_stopping_the_server_ends_pending_long_polls() -> None:
    fake = FakeTelegram()
    server = FakeBotAPIServer(fake)
    await server.start()
    bot = http_bot(server)
    try:
        poll = asyncio.create_task(bot.get_updates(timeout=30))
        await fake.wait_until(lambda: fake.long_polls_waiting)
        await asyncio.wait_for(server.stop(), timeout=2)
        assert await asyncio.wait_for(poll, timeout=2) == []
    finally:
        await bot.session.close()


async def test_allowed_updates_filters_update_types(bot: Bot, fake: FakeTelegram) -> None:
    fake.user_joins(GROUP, MAMA)  # a service message and a chat_member update
    fake.reaction(GROUP, MAMA, 1, "👍")

    updates = await bot.get_updates(allowed_updates=["message", "chat_member"])
    assert [u.event_type for u in updates] == ["message", "chat_member"]
    assert updates[1].chat_member.new_chat_member.status == "member"

    fake.user_leaves(GROUP, MAMA)
    fake.reaction(GROUP, MAMA, 1, "❤")
    later = await bot.get_updates(offset=updates[-1].update_id + 1, allowed_updates=["message_reaction"])
    assert [u.event_type for u in later] == ["message_reaction"]


async def test_default_subscription_skips_chat_member_updates(bot: Bot, fake: FakeTelegram) -> None:
    fake.user_joins(GROUP, MAMA)

    updates = await bot.get_updates()

    assert [u.event_type for u in updates] == ["message"]
    assert updates[0].message.new_chat_members[0].id == MAMA


async def test_reinjected_update_is_delivered_again_despite_confirmation(bot: Bot, fake: FakeTelegram) -> None:
    first = fake.user_message(GROUP, MAMA, "/checkin")
    (delivered,) = await bot.get_updates()
    assert await bot.get_updates(offset=delivered.update_id + 1) == []

    fake.inject(first)  # Telegram redelivers an update the bot already saw

    (again,) = await bot.get_updates(offset=delivered.update_id + 1)
    assert again.update_id == first["update_id"]
    assert await bot.get_updates(offset=delivered.update_id + 1) == []


async def test_privacy_mode_hides_plain_group_messages_from_a_non_admin_bot() -> None:
    fake = FakeTelegram(can_read_all_group_messages=False)
    fake.add_chat(GROUP, bot_status="member")
    bot = Bot("42:TEST", session=FakeSession(fake))

    hidden = fake.user_message(GROUP, MAMA, "just chatting")
    seen = fake.user_message(GROUP, MAMA, "/points")

    assert "update_id" not in hidden
    assert [u.update_id for u in await bot.get_updates()] == [seen["update_id"]]
    assert (await bot.get_me()).can_read_all_group_messages is False


async def test_callback_query_can_be_answered_once(bot: Bot, fake: FakeTelegram) -> None:
    sent = await bot.send_message(GROUP, "Pick", reply_markup=InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="A", callback_data="pick:a")]]))
    query = fake.callback_query(GROUP, MAMA, sent.message_id, "pick:a")["callback_query"]

    (update,) = await bot.get_updates()
    assert update.callback_query.data == "pick:a" and update.callback_query.message.message_id == sent.message_id
    assert await bot.answer_callback_query(query["id"], text="Done")
    assert fake.callback_answers[query["id"]]["text"] == "Done"
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query["id"])


# ------------------------------------------------------------------ errors


async def test_unknown_method_is_a_bad_request_naming_the_method(
    bot: Bot, server: FakeBotAPIServer, fake: FakeTelegram
) -> None:
    with pytest.raises(TelegramBadRequest, match="method 'frobnicateChat' not found"):
        await bot(FrobnicateChat(chat_id=GROUP))

    async with aiohttp.ClientSession() as http:
        async with http.post(f"{server.base_url}/bot42:TEST/frobnicateChat") as response:
            assert (response.status, await response.json()) == (
                400,
                {"ok": False, "error_code": 400, "description": "Bad Request: method 'frobnicateChat' not found"},
            )
    assert fake.calls("frobnicateChat")[0].status == 400


async def test_method_names_are_case_insensitive(server: FakeBotAPIServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.base_url}/bot42:TEST/GETME") as response:
            body = await response.json()
    assert body["ok"] and body["result"]["username"] == "cradle_test_bot"


async def test_wrong_token_is_unauthorized(server: FakeBotAPIServer) -> None:
    bot = http_bot(server, token="42:WRONG")
    try:
        with pytest.raises(TelegramUnauthorizedError, match="Unauthorized"):
            await bot.get_me()
    finally:
        await bot.session.close()


async def test_missing_text_and_unknown_chat_are_bad_requests(bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="Bad Request: message text is empty"):
        await bot.send_message(GROUP, "")
    with pytest.raises(TelegramBadRequest, match="Bad Request: chat not found"):
        await bot.send_message(-100999, "hello?")


async def test_html_is_parsed_into_entities_and_bad_html_rejected(bot: Bot) -> None:
    message = await bot.send_message(GROUP, "<b>Mama</b> &amp; baby", parse_mode="HTML")

    assert message.text == "Mama & baby"
    assert [(e.type, e.offset, e.length) for e in message.entities] == [("bold", 0, 4)]
    with pytest.raises(TelegramBadRequest, match='Unsupported start tag "mama"'):
        await bot.send_message(GROUP, "Hi <Mama>", parse_mode="HTML")


async def test_numeric_looking_text_stays_a_string(bot: Bot, fake: FakeTelegram) -> None:
    message = await bot.send_message(GROUP, "123")

    assert message.text == "123"
    assert fake.calls("sendMessage")[0].params == {"chat_id": GROUP, "text": "123"}


async def test_group_flood_limit_answers_429_with_retry_after() -> None:
    clock = Clock()
    fake = FakeTelegram(enforce_limits=True, monotonic=clock)
    fake.add_chat(GROUP)
    async with FakeBotAPIServer(fake) as server:
        bot = http_bot(server)
        try:
            for n in range(20):
                await bot.send_message(GROUP, f"tip {n}")
            with pytest.raises(TelegramRetryAfter) as caught:
                await bot.send_message(GROUP, "one too many")
            assert caught.value.retry_after == 3  # 20/min refills a token every 3 s
            assert "Too Many Requests: retry after 3" in caught.value.message
            assert fake.rejected_429 == 1
            clock.now += 3
            await bot.send_message(GROUP, "after waiting")
        finally:
            await bot.session.close()
    assert len(fake.sent_messages(GROUP)) == 21


async def test_removed_bot_gets_forbidden(bot: Bot, fake: FakeTelegram) -> None:
    update = fake.remove_bot(GROUP)

    with pytest.raises(TelegramForbiddenError, match="bot was kicked from the supergroup chat"):
        await bot.send_message(GROUP, "anyone?")
    assert update is not None and update["my_chat_member"]["new_chat_member"]["status"] == "kicked"


# ------------------------------------------------------------------ webhook


@pytest.fixture
async def webhook_receiver() -> AsyncIterator[tuple[str, list[tuple[dict[str, str], dict[str, Any]]]]]:
    """A local webhook endpoint that fails the first delivery with 500."""
    received: list[tuple[dict[str, str], dict[str, Any]]] = []

    async def handle(request: web.Request) -> web.Response:
        received.append((dict(request.headers), await request.json()))
        return web.Response(status=500 if len(received) == 1 else 200)

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/hook", received
    await runner.cleanup()


async def test_webhook_redelivers_after_failure_with_secret_header(
    bot: Bot, fake: FakeTelegram, webhook_receiver: tuple[str, list[tuple[dict[str, str], dict[str, Any]]]]
) -> None:
    url, received = webhook_receiver
    fake.webhook_retry_delay = 0.01
    assert await bot.set_webhook(url, secret_token="s3cr3t-Token")

    update = fake.user_message(GROUP, MAMA, "hello webhook")
    await fake.wait_until(lambda: not fake.pending_updates and fake.webhook_deliveries >= 2)

    assert [body["update_id"] for _, body in received] == [update["update_id"]] * 2
    assert all(headers["X-Telegram-Bot-Api-Secret-Token"] == "s3cr3t-Token" for headers, _ in received)
    assert (fake.webhook_deliveries, fake.webhook_failures) == (2, 1)
    info = await bot.get_webhook_info()
    assert info.url == url and info.pending_update_count == 0
    assert "500" in (info.last_error_message or "")


async def test_webhook_reply_from_an_aiogram_handler_is_executed(bot: Bot, fake: FakeTelegram) -> None:
    from aiogram import Dispatcher
    from aiogram.types import Message
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler

    dispatcher = Dispatcher()

    @dispatcher.message()
    async def pong(message: Message) -> Any:
        return message.answer("pong")  # returned, not awaited: sent as the webhook response

    app = web.Application()
    SimpleRequestHandler(dispatcher, bot, handle_in_background=False, secret_token="tok").register(app, "/hook")
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        await bot.set_webhook(f"http://127.0.0.1:{runner.addresses[0][1]}/hook", secret_token="tok")
        fake.user_message(GROUP, MAMA, "ping")
        [reply] = await fake.wait_for_message(GROUP, contains="pong")
    finally:
        await runner.cleanup()
    assert reply["chat"]["id"] == GROUP
    assert fake.webhook_failures == 0


async def test_get_updates_conflicts_while_webhook_is_set(bot: Bot) -> None:
    await bot.set_webhook("http://127.0.0.1:9/never-called")

    with pytest.raises(TelegramConflictError, match="can't use getUpdates method while webhook is active"):
        await bot.get_updates()
    await bot.delete_webhook()
    assert await bot.get_updates() == []


# ------------------------------------------------------------------ FakeSession parity


async def test_fake_session_returns_the_same_message_as_http() -> None:
    def new_fake() -> FakeTelegram:
        fake = FakeTelegram(clock=lambda: NOW)
        fake.add_chat(GROUP, "Mamas")
        fake.user_message(GROUP, MAMA, "question")
        return fake

    keyboard = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="👍", callback_data="up")]])
    over_http, in_process = new_fake(), new_fake()
    direct = Bot("42:TEST", session=FakeSession(in_process))
    async with FakeBotAPIServer(over_http) as server:
        bot = http_bot(server)
        try:
            via_http = await bot.send_message(GROUP, "<i>Answer</i>", parse_mode="HTML",
                                              reply_parameters=ReplyParameters(message_id=1), reply_markup=keyboard)
        finally:
            await bot.session.close()
    via_session = await direct.send_message(GROUP, "<i>Answer</i>", parse_mode="HTML",
                                            reply_parameters=ReplyParameters(message_id=1), reply_markup=keyboard)

    assert via_session.model_dump() == via_http.model_dump()
    assert in_process.requests[0].params == over_http.requests[0].params


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda bot: bot.send_message(GROUP, ""), TelegramBadRequest),
        (lambda bot: bot.send_message(-5, "hi"), TelegramBadRequest),
        (lambda bot: bot(FrobnicateChat(chat_id=GROUP)), TelegramBadRequest),
        (lambda bot: bot.delete_message(GROUP, 404), TelegramBadRequest),
    ],
    ids=["empty-text", "unknown-chat", "unknown-method", "delete-unknown"],
)
async def test_fake_session_raises_the_same_errors_as_http(call: Any, error: type[Exception]) -> None:
    messages = []
    for make_bot in ("http", "session"):
        fake = FakeTelegram()
        fake.add_chat(GROUP)
        async with FakeBotAPIServer(fake) as server:
            bot = http_bot(server) if make_bot == "http" else Bot("42:TEST", session=FakeSession(fake))
            try:
                with pytest.raises(error) as caught:
                    await call(bot)
            finally:
                await bot.session.close()
        messages.append(caught.value.message)
    assert messages[0] == messages[1]


async def test_fake_session_forbidden_and_retry_after() -> None:
    fake = FakeTelegram(enforce_limits=True, per_bot_per_second=1, monotonic=Clock())
    fake.add_chat(GROUP)
    fake.add_chat(-200)
    bot = Bot("42:TEST", session=FakeSession(fake))

    await bot.send_message(GROUP, "one")
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(-200, "two")
    assert caught.value.retry_after == 1 and fake.rejected_429 == 1
    fake.remove_bot(-200)
    fake.enforce_limits = False
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(-200, "three")


def test_standalone_entry_has_cli_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])

    assert exit_info.value.code == 0
    assert "--enforce-limits" in capsys.readouterr().out
