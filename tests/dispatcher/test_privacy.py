"""/mydata sends the member her data; /forgetme (confirmed) detaches her history, totals unchanged."""

import json

from sqlalchemy import func, select

from bot.domain import UserRef
from models.tables import LedgerEntry, UserAccount
from tests.dispatcher.conftest import ALICE, BOB, GROUP

MOD = 301


async def scalar(harness, statement):
    async with harness.app.storage.engine.connect() as connection:
        return (await connection.execute(statement)).scalar()


async def press(harness, chat_id: int, user_id: int, button_text: str) -> str:
    """Press a button under the bot's last message; returns the text the bot edited it to."""
    message = harness.fake.sent_messages(chat_id)[-1]
    [row] = message["reply_markup"]["inline_keyboard"]
    [button] = [b for b in row if b["text"] == button_text]
    await harness.feed(harness.fake.callback_query(chat_id, user_id, message["message_id"], button["callback_data"]))
    return harness.fake.calls("editMessageText")[-1].params["text"]


async def test_mydata_sends_a_json_file_with_her_groups_checkins_and_points(harness):
    await harness.say(GROUP, BOB, "/checkin")
    await harness.app.buffer.flush()
    await harness.say(BOB, BOB, "/mydata")
    [call] = harness.fake.calls("sendDocument")
    assert call.params["chat_id"] == BOB
    assert harness.fake.sent_messages(BOB)[-1]["caption"] == "Here is everything I store about you (a JSON file)."
    # The fake keeps no file contents, so read what the bot serialised from the service it called.
    export = await harness.app.privacy.export(UserRef("telegram", str(BOB)))
    assert json.loads(json.dumps(export, ensure_ascii=False)) == export  # JSON-ready as sent
    assert export["account"]["name"] == "Bob"
    [group] = export["groups"]
    assert group["points"] == 10 and group["check_ins"][0]["streak"] == 1
    assert group["points_history"][0]["reason"] == "checkin"


async def test_mydata_includes_her_badges_orders_and_bought_freezes(harness):
    harness.fake.add_user(999, "Olga", language_code="en")  # an operator in the test settings
    await harness.feed(harness.fake.user_message(GROUP, BOB, photo=True, caption="first purée"))  # a share
    post = await harness.say(GROUP, BOB, "a tip")
    await harness.say(GROUP, 999, "/award 30 thanks", reply_to=post["message"]["message_id"])
    await harness.say(GROUP, BOB, "/redeem freeze")
    await harness.settle()
    export = await harness.app.privacy.export(UserRef("telegram", str(BOB)))
    [group] = export["groups"]
    assert [badge["badge"] for badge in group["badges"]] == ["first_share"]
    assert [(order["item"], order["status"]) for order in group["orders"]] == [("freeze", "fulfilled")]
    assert group["streak_freezes"] == 1 and group["tier"] is None


async def test_forgetme_asks_first_and_cancel_changes_nothing(harness):
    await harness.say(GROUP, BOB, "/checkin")
    await harness.say(BOB, BOB, "/forgetme")
    assert harness.replies(BOB)[-1].startswith("Delete your personal data?")
    assert await press(harness, BOB, BOB, "Cancel") == "OK, nothing has changed."
    assert await scalar(harness, select(func.count()).select_from(UserAccount).where(UserAccount.external_id == str(BOB))) == 1


async def test_forgetme_detaches_her_history_and_keeps_group_totals(harness):
    harness.fake.add_user(MOD, "Mod", language_code="en")
    harness.fake.set_admin(GROUP, MOD)
    await harness.say(GROUP, BOB, "/checkin")
    tip = await harness.say(GROUP, ALICE, "a tip")
    await harness.say(GROUP, BOB, "thanks!", reply_to=tip["message"]["message_id"])  # Bob gave thanks
    post = await harness.say(GROUP, BOB, "spam spam")
    await harness.say(GROUP, MOD, "/award -5 posted an ad", reply_to=post["message"]["message_id"])
    await harness.app.buffer.flush()
    total_before = await scalar(harness, select(func.sum(LedgerEntry.delta)))

    await harness.say(BOB, BOB, "/forgetme")
    assert await press(harness, BOB, BOB, "Yes, delete") == (
        "Done: your personal data is deleted and your history is no longer linked to you."
    )

    assert await scalar(harness, select(func.sum(LedgerEntry.delta))) == total_before
    assert await scalar(harness, select(func.count()).select_from(UserAccount).where(UserAccount.external_id == str(BOB))) == 0
    assert await scalar(harness, select(func.count()).select_from(LedgerEntry).where(LedgerEntry.actor == str(BOB))) == 0
    assert await scalar(harness, select(func.count()).select_from(LedgerEntry).where(LedgerEntry.note.is_not(None))) == 0
    assert await scalar(harness, select(func.count()).select_from(UserAccount).where(UserAccount.display_name == "Bob")) == 0

    # She can come back as a new member, with a fresh start.
    await harness.say(GROUP, BOB, "/points")
    assert harness.replies(GROUP)[-1] == "Bob, you have no points in this group yet. Send /checkin to start!"
    await harness.say(BOB, BOB, "/mydata")
    assert harness.replies(BOB)[-1] == "I don't store any data about you."


async def test_privacy_commands_in_a_group_point_to_the_private_chat(harness):
    await harness.say(GROUP, BOB, "/mydata")
    assert harness.replies(GROUP)[-1] == "To protect your privacy, please send this command in a private chat with me."


async def test_mydata_includes_the_profile_and_forgetme_deletes_it(harness):
    from models.tables import MemberProfile

    await harness.say(BOB, BOB, "/profile born 2026-07-01")
    export = await harness.app.privacy.export(UserRef("telegram", str(BOB)))
    assert export["profile"]["birth_date"] == "2026-07-01"
    await harness.say(BOB, BOB, "/forgetme")
    await press(harness, BOB, BOB, "Yes, delete")
    assert await scalar(harness, select(func.count()).select_from(MemberProfile)) == 0
