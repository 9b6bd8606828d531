"""The fake refuses what Telegram refuses, with Telegram's status and description."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, methods
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import ChatPermissions, InputPollOption, ReplyParameters

from bot.testing.fake_bot_api import _PARAMS, PERMISSIONS, FakeTelegram
from bot.testing.fake_bot_api_server import FakeBotAPIServer
from bot.testing.images import plain_photo
from bot.testing.session import FakeSession

GROUP = -1001234567890
BASIC_GROUP = -4001
MAMA = 1001
NOW = 1_700_000_000
HOUR, DAY = 3600, 86400


@pytest.fixture
def fake() -> FakeTelegram:
    fake = FakeTelegram(clock=lambda: NOW)
    fake.add_chat(GROUP, "Mamas")
    fake.add_chat(BASIC_GROUP, "Small", type="group")
    fake.user_joins(GROUP, MAMA)
    return fake


@pytest.fixture
def bot(fake: FakeTelegram) -> Bot:
    return Bot(fake.token, session=FakeSession(fake))


@pytest.fixture
async def server(fake: FakeTelegram) -> AsyncIterator[FakeBotAPIServer]:
    async with FakeBotAPIServer(fake) as server:
        yield server


async def refused(fake: FakeTelegram, method: str, **params: Any) -> str:
    """Call the fake in-process; assert Telegram's 400 body and return its description."""
    status, body = await fake.call(method, params)
    assert (status, body["ok"], body["error_code"]) == (400, False, 400), body
    assert set(body) == {"ok", "error_code", "description"}
    assert body["description"].startswith("Bad Request: ")
    return str(body["description"])


async def accepted(fake: FakeTelegram, method: str, **params: Any) -> Any:
    status, body = await fake.call(method, params)
    assert status == 200, body
    return body["result"]


async def post_json(server: FakeBotAPIServer, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{server.base_url}/bot{server.fake.token}/{method}", json=params) as response:
            return response.status, await response.json()


# ------------------------------------------------------------------ 1. parameters


def test_parameter_table_matches_the_current_api_in_aiogram() -> None:
    by_name = {
        cls.__api_method__: cls for cls in vars(methods).values()
        if isinstance(cls, type) and isinstance(getattr(cls, "__api_method__", None), str)
    }
    for method, allowed in _PARAMS.items():
        current = {
            name for name, field in by_name[method].model_fields.items()
            if not (field.json_schema_extra or {}).get("deprecated")  # type: ignore[union-attr]
        }
        assert allowed == current, method


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"reply_to_message_id": 1}, 'unknown parameter "reply_to_message_id" for sendMessage in the current '
                                     "Bot API; use reply_parameters"),
        ({"allow_sending_without_reply": True}, 'unknown parameter "allow_sending_without_reply"'),
        ({"disable_web_page_preview": True}, "use link_preview_options"),
        ({"parse_mod": "HTML"}, 'unknown parameter "parse_mod"'),
    ],
)
async def test_parameters_outside_the_current_api_are_refused(
    fake: FakeTelegram, params: dict[str, Any], description: str
) -> None:
    assert description in await refused(fake, "sendMessage", chat_id=GROUP, text="hi", **params)
    assert fake.sent_messages(GROUP) == []


async def test_deprecated_reply_to_message_id_is_refused_through_aiogram_and_http(
    fake: FakeTelegram, bot: Bot, server: FakeBotAPIServer
) -> None:
    asked = fake.user_message(GROUP, MAMA, "Is 38.5 a fever?")["message"]

    with pytest.raises(TelegramBadRequest, match='unknown parameter "reply_to_message_id"'):
        await bot.send_message(GROUP, "Yes", reply_to_message_id=asked["message_id"])
    status, body = await post_json(server, "sendMessage", {"chat_id": GROUP, "text": "Yes", "reply_to_message_id": 1})
    assert status == 400 and body["error_code"] == 400 and "reply_parameters" in body["description"]
    answer = await bot.send_message(GROUP, "Yes", reply_parameters=ReplyParameters(message_id=asked["message_id"]))
    assert answer.reply_to_message is not None and answer.reply_to_message.message_id == asked["message_id"]


async def test_reply_to_a_missing_message_needs_allow_sending_without_reply(fake: FakeTelegram) -> None:
    description = await refused(fake, "sendMessage", chat_id=GROUP, text="hi", reply_parameters={"message_id": 999})
    sent = await accepted(fake, "sendMessage", chat_id=GROUP, text="hi",
                          reply_parameters={"message_id": 999, "allow_sending_without_reply": True})

    assert description == "Bad Request: message to be replied not found"
    assert "reply_to_message" not in sent
    assert "unknown field" in await refused(fake, "sendMessage", chat_id=GROUP, text="hi",
                                            reply_parameters={"message_id": 1, "reply": True})


async def test_quiz_with_the_removed_correct_option_id_is_refused(fake: FakeTelegram) -> None:
    description = await refused(fake, "sendPoll", chat_id=GROUP, question="Q?", options=["a", "b"],
                                type="quiz", correct_option_id=0)

    assert "use correct_option_ids" in description


# ------------------------------------------------------------------ 2. until_date


@pytest.mark.parametrize(
    ("until", "recorded"),
    [
        (None, 0),
        (0, 0),
        (NOW + 10, 0),  # under 30 seconds away: forever
        (NOW - HOUR, 0),  # in the past: forever
        (NOW + 367 * DAY, 0),  # over 366 days away: forever
        (NOW + HOUR, NOW + HOUR),
        (NOW + 366 * DAY, NOW + 366 * DAY),
    ],
)
async def test_until_date_outside_30_seconds_to_366_days_means_forever(
    fake: FakeTelegram, until: int | None, recorded: int
) -> None:
    extra = {} if until is None else {"until_date": until}
    await accepted(fake, "restrictChatMember", chat_id=GROUP, user_id=MAMA,
                   permissions={"can_send_messages": False}, **extra)

    assert fake.member(GROUP, MAMA)["until_date"] == recorded
    assert fake.restriction_end(GROUP, MAMA) == recorded


async def test_a_ban_closer_than_30_seconds_is_permanent(fake: FakeTelegram) -> None:
    await accepted(fake, "banChatMember", chat_id=GROUP, user_id=MAMA, until_date=NOW + 5)

    assert fake.member(GROUP, MAMA)["status"] == "kicked"
    assert fake.restriction_end(GROUP, MAMA) == 0
    assert fake.restriction_end(GROUP, 999) is None


# ------------------------------------------------------------------ 3. permissions


async def test_get_chat_reports_the_groups_own_permissions(fake: FakeTelegram, bot: Bot) -> None:
    fake.add_chat(-100777, "Quiet", permissions={"can_send_photos": False, "can_send_polls": False})
    fake.set_chat_permissions(GROUP, can_invite_users=False)

    quiet, mamas = await bot.get_chat(-100777), await bot.get_chat(GROUP)

    assert quiet.permissions is not None and mamas.permissions is not None
    assert (quiet.permissions.can_send_photos, quiet.permissions.can_send_polls) == (False, False)
    assert quiet.permissions.can_send_messages is True
    assert mamas.permissions.can_invite_users is False and mamas.permissions.can_send_messages is True
    with pytest.raises(ValueError, match="unknown chat permissions"):
        fake.set_chat_permissions(GROUP, can_fly=True)


async def test_a_release_with_a_partial_permissions_object_leaves_her_restricted(fake: FakeTelegram, bot: Bot) -> None:
    await bot.restrict_chat_member(GROUP, MAMA, ChatPermissions(can_send_messages=False))
    partial = ChatPermissions(
        can_send_messages=True, can_send_audios=True, can_send_documents=True, can_send_photos=True,
        can_send_videos=True, can_send_video_notes=True, can_send_voice_notes=True, can_send_polls=True,
        can_send_other_messages=True, can_add_web_page_previews=True,
    )  # fmt: skip

    await bot.restrict_chat_member(GROUP, MAMA, partial)
    member = fake.member(GROUP, MAMA)
    await bot.restrict_chat_member(GROUP, MAMA, ChatPermissions(**dict.fromkeys(PERMISSIONS, True)))

    assert member["status"] == "restricted"  # omitted fields are False, not "unchanged"
    assert (member["can_change_info"], member["can_invite_users"], member["can_pin_messages"]) == (False,) * 3
    assert member["can_react_to_messages"] is True  # absent: follows can_send_messages
    assert fake.member(GROUP, MAMA)["status"] == "member"  # all True lifts the restriction


@pytest.mark.parametrize(
    ("given", "independent", "expected_true"),
    [
        ({"can_send_other_messages": True}, False,
         {"can_send_other_messages", "can_send_messages", "can_send_audios", "can_send_documents",
          "can_send_photos", "can_send_videos", "can_send_video_notes", "can_send_voice_notes"}),
        # can_react_to_messages follows can_send_messages as given, before the implications
        ({"can_send_other_messages": True}, True, {"can_send_other_messages"}),
        ({"can_send_polls": True}, False, {"can_send_polls", "can_send_messages"}),
        ({"can_pin_messages": True}, True, {"can_pin_messages", "can_manage_topics", "can_edit_tag"}),
    ],
)
async def test_permissions_imply_others_unless_independent(
    fake: FakeTelegram, given: dict[str, bool], independent: bool, expected_true: set[str]
) -> None:
    await accepted(fake, "restrictChatMember", chat_id=GROUP, user_id=MAMA, permissions=given,
                   use_independent_chat_permissions=independent)

    member = fake.member(GROUP, MAMA)
    assert {name for name in PERMISSIONS if member[name]} == expected_true


async def test_misspelt_or_non_boolean_permissions_are_refused(fake: FakeTelegram) -> None:
    misspelt = await refused(fake, "restrictChatMember", chat_id=GROUP, user_id=MAMA,
                             permissions={"can_send_message": True})
    not_boolean = await refused(fake, "restrictChatMember", chat_id=GROUP, user_id=MAMA,
                                permissions={"can_send_messages": "yes"})

    assert misspelt.startswith("Bad Request: can't parse chat permissions") and "can_send_message" in misspelt
    assert "must be of type Boolean" in not_boolean
    assert fake.member(GROUP, MAMA)["status"] == "member"


# ------------------------------------------------------------------ 4. deleteMessage


async def test_messages_older_than_48_hours_cannot_be_deleted(fake: FakeTelegram) -> None:
    old = fake.user_message(GROUP, MAMA, "two days ago", date=NOW - 48 * HOUR)["message"]
    recent = fake.user_message(GROUP, MAMA, "yesterday", date=NOW - 47 * HOUR)["message"]

    assert await refused(fake, "deleteMessage", chat_id=GROUP, message_id=old["message_id"]) == (
        "Bad Request: message can't be deleted"
    )
    assert await accepted(fake, "deleteMessage", chat_id=GROUP, message_id=recent["message_id"]) is True
    assert fake.get_message(GROUP, old["message_id"]) is not None


async def test_deleting_a_missing_message_is_refused(fake: FakeTelegram, server: FakeBotAPIServer) -> None:
    status, body = await post_json(server, "deleteMessage", {"chat_id": GROUP, "message_id": 404})

    assert (status, body) == (400, {"ok": False, "error_code": 400,
                                    "description": "Bad Request: message to delete not found"})
    assert await refused(fake, "deleteMessage", chat_id=GROUP) == "Bad Request: message identifier is not specified"


# ------------------------------------------------------------------ 5. answerCallbackQuery


async def test_callback_answer_over_200_characters_is_refused(fake: FakeTelegram) -> None:
    sent = await accepted(fake, "sendMessage", chat_id=GROUP, text="Pick")
    query_id = fake.callback_query(GROUP, MAMA, sent["message_id"], "x")["callback_query"]["id"]

    assert await refused(fake, "answerCallbackQuery", callback_query_id=query_id, text="谢" * 201) == (
        "Bad Request: MESSAGE_TOO_LONG"
    )
    assert await accepted(fake, "answerCallbackQuery", callback_query_id=query_id, text="谢" * 200) is True
    assert await refused(fake, "answerCallbackQuery", callback_query_id="123", text="hi") == (
        "Bad Request: query is too old and response timeout expired or query ID is invalid"
    )


# ------------------------------------------------------------------ 6. unbanChatMember


async def test_unban_in_a_basic_group_is_refused(fake: FakeTelegram) -> None:
    fake.user_joins(BASIC_GROUP, MAMA)

    assert await refused(fake, "unbanChatMember", chat_id=BASIC_GROUP, user_id=MAMA) == (
        "Bad Request: method is available for supergroup and channel chats only"
    )
    assert await accepted(fake, "unbanChatMember", chat_id=GROUP, user_id=MAMA, only_if_banned=True) is True


# ------------------------------------------------------------------ 7. sendPoll


def poll(**overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"chat_id": GROUP, "question": "Solids at?", "options": [{"text": "4m"}, {"text": "6m"}]}
    params.update(overrides)
    return {key: value for key, value in params.items() if value is not None}


@pytest.mark.parametrize(
    ("overrides", "description"),
    [
        ({"open_period": 4}, "open_period must be 5-2628000 seconds"),
        ({"open_period": 2_628_001}, "open_period must be 5-2628000 seconds"),
        ({"open_period": 60, "close_date": NOW + 60}, "open_period and close_date can't be used together"),
        ({"close_date": NOW + 4}, "close_date must be 5-2628000 seconds in the future"),
        ({"close_date": NOW + 2_628_001}, "close_date must be 5-2628000 seconds in the future"),
        ({"question": "?" * 301}, "poll question length must not exceed 300"),
        ({"question": " "}, "poll question must be non-empty"),
        ({"options": []}, "poll must have at least one answer option"),
        ({"options": [{"text": str(n)} for n in range(13)]}, "poll can't have more than 12 options"),
        ({"options": [{"text": "a" * 101}, {"text": "b"}]}, "poll options length must not exceed 100"),
        ({"options": [{"text": ""}, {"text": "b"}]}, "poll options must be non-empty"),
        ({"options": [{"txt": "a"}, {"text": "b"}]}, 'unknown field "txt" in InputPollOption'),
        ({"type": "quiz"}, "wrong correct option ids specified"),
        ({"type": "quiz", "correct_option_ids": [2]}, "wrong correct option ids specified"),
        ({"type": "quiz", "correct_option_ids": [1, 0]}, "wrong correct option ids specified"),
        ({"type": "quiz", "correct_option_ids": [0], "explanation": "x" * 201}, "explanation is too long"),
        ({"type": "quiz", "correct_option_ids": [0], "explanation": "a\nb\nc\nd"},
         "explanation can't contain more than 2 line feeds"),
        ({"type": "survey"}, "unsupported poll type specified"),
    ],
)
async def test_poll_limits(fake: FakeTelegram, overrides: dict[str, Any], description: str) -> None:
    assert await refused(fake, "sendPoll", **poll(**overrides)) == f"Bad Request: {description}"
    assert fake.sent_messages(GROUP) == []


async def test_poll_within_limits_is_sent_and_answers_have_the_current_shape(fake: FakeTelegram, bot: Bot) -> None:
    message = await bot.send_poll(
        GROUP, "Solids at?", [InputPollOption(text="4m"), InputPollOption(text="6m")], type="quiz",
        correct_option_ids=[1], is_anonymous=False, explanation="WHO:\nsix\nmonths", open_period=2_628_000,
    )
    assert message.poll is not None

    update = fake.poll_answer(message.poll.id, MAMA, [1])["poll_answer"]

    assert set(update) == {"poll_id", "user", "option_ids", "option_persistent_ids"}
    assert (update["poll_id"], update["user"]["id"], update["option_ids"]) == (message.poll.id, MAMA, [1])
    assert message.poll.close_date is not None and int(message.poll.close_date.timestamp()) == NOW + 2_628_000
    as_group = fake.poll_answer(message.poll.id, 7, [0], voter_chat_id=GROUP)["poll_answer"]
    assert "user" not in as_group and as_group["voter_chat"]["id"] == GROUP


# ------------------------------------------------------------------ 8. text


async def test_text_length_is_counted_after_parsing_in_utf16_units(fake: FakeTelegram) -> None:
    markup = "<b>" + "a" * 4096 + "</b>"  # 4103 characters of source, 4096 of text
    emoji = "😀" * 2049  # 2049 characters, 4098 UTF-16 units

    assert (await accepted(fake, "sendMessage", chat_id=GROUP, text=markup, parse_mode="HTML"))["text"] == "a" * 4096
    assert await refused(fake, "sendMessage", chat_id=GROUP, text=emoji) == "Bad Request: message is too long"
    assert await refused(fake, "sendMessage", chat_id=GROUP, text="a" * 4097) == "Bad Request: message is too long"
    assert await refused(fake, "sendMessage", chat_id=GROUP, text="<b> </b>", parse_mode="HTML") == (
        "Bad Request: message text is empty"
    )
    sent = await accepted(fake, "sendMessage", chat_id=GROUP, text="first")
    assert await refused(fake, "editMessageText", chat_id=GROUP, message_id=sent["message_id"], text="b" * 4097) == (
        "Bad Request: message is too long"
    )


async def test_caption_over_1024_is_refused(fake: FakeTelegram) -> None:
    assert await refused(fake, "sendPhoto", chat_id=GROUP, photo="https://example.com/a.jpg", caption="c" * 1025) == (
        "Bad Request: message caption is too long"
    )


@pytest.mark.parametrize(
    ("text", "description"),
    [
        ("Hi <br> mama", 'can\'t parse entities: Unsupported start tag "br" at byte offset 3'),
        ("<b>bold", 'can\'t parse entities: Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'can\'t parse entities: Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("x</b>", "can't parse entities: Unexpected end tag at byte offset 1"),
    ],
)
async def test_bad_html_is_refused_like_telegram(fake: FakeTelegram, text: str, description: str) -> None:
    described = await refused(fake, "sendMessage", chat_id=GROUP, text=text, parse_mode="HTML")

    assert described == f"Bad Request: {description}"


async def test_callback_data_over_64_bytes_is_refused(fake: FakeTelegram) -> None:
    def keyboard(data: str) -> dict[str, Any]:
        return {"inline_keyboard": [[{"text": "OK", "callback_data": data}]]}

    assert await refused(fake, "sendMessage", chat_id=GROUP, text="x", reply_markup=keyboard("好" * 22)) == (
        "Bad Request: BUTTON_DATA_INVALID"  # 66 bytes in UTF-8, though 22 characters
    )
    assert await accepted(fake, "sendMessage", chat_id=GROUP, text="x", reply_markup=keyboard("a" * 64))


# ------------------------------------------------------------------ 9. odd values


ODD_VALUES = [2**70, -(2**70), 2**31, -1, 0, 1.5, "abc", "", [], {}, True]
# (getUpdates' timeout is left out: a valid one long-polls.)
ID_PARAMS = ("chat_id", "user_id", "message_id", "until_date", "open_period", "close_date", "offset", "limit",
             "cache_time", "callback_query_id", "file_id", "options", "permissions", "reply_parameters")


@pytest.mark.parametrize("method", sorted(_PARAMS))
async def test_out_of_range_and_mistyped_values_are_refused_not_crashes(fake: FakeTelegram, method: str) -> None:
    base = {"chat_id": GROUP, "user_id": MAMA, "message_id": 1, "text": "hi", "question": "Q?",
            "options": ["a", "b"], "permissions": {}, "photo": "x", "document": "x", "action": "typing"}
    for name in sorted(_PARAMS[method] & set(ID_PARAMS)):
        for value in ODD_VALUES:
            params = {key: base[key] for key in _PARAMS[method] if key in base}
            params[name] = value
            status, body = await fake.call(method, params)
            assert status in (200, 400), (method, name, value, body)


async def test_user_ids_out_of_range_are_invalid(fake: FakeTelegram, server: FakeBotAPIServer) -> None:
    status, body = await post_json(server, "getChatMember", {"chat_id": GROUP, "user_id": 2**64})

    assert (status, body["description"]) == (400, "Bad Request: invalid user_id specified")
    assert await refused(fake, "banChatMember", chat_id=GROUP, user_id=-5) == "Bad Request: invalid user_id specified"
    assert await refused(fake, "sendMessage", chat_id=2**70, text="hi") == "Bad Request: chat not found"


# ------------------------------------------------------------------ 10. observed photos


async def test_photos_of_observed_updates_can_be_fetched_and_served(fake: FakeTelegram, bot: Bot) -> None:
    update = {"update_id": 1, "message": {
        "message_id": 50, "date": NOW, "chat": {"id": GROUP, "type": "supergroup", "title": "Mamas"},
        "from": {"id": MAMA, "is_bot": False, "first_name": "Mama"},
        "photo": [{"file_id": "ph49", "file_unique_id": "uph49", "file_size": 120000, "width": 1280, "height": 960}],
    }}
    fake.observe(update)
    picture = plain_photo(size=(320, 240))

    file = await bot.get_file("ph49")
    with pytest.raises(aiohttp.ClientResponseError):  # known to getFile, but no bytes yet
        await bot.download(file.file_id)
    fake.serve_file("ph49", picture)
    downloaded = await bot.download("ph49")

    assert file.file_path is not None and file.file_path.startswith("photos/")
    assert isinstance(downloaded, io.BytesIO) and downloaded.getvalue() == picture
    with pytest.raises(KeyError):
        fake.serve_file("never-seen", picture)
