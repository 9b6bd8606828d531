"""The webhook endpoint: secret check, and Telegram is answered only after the update is processed."""

import json

import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiohttp import web
from sqlalchemy import func, select

from models.engine import make_engine
from models.tables import Checkin, LedgerEntry

from bot.platforms.telegram.runner import SECRET_HEADER, webhook_handler
from tests.dispatcher.conftest import BOB, GROUP

SECRET = "s3cret-token"


async def client_for(harness, dispatcher=None, rejected_dir="rejected_updates") -> TestClient:
    app = web.Application()
    app.router.add_post(
        "/hook", webhook_handler(dispatcher or harness.dispatcher, harness.bot, SECRET, rejected_dir=rejected_dir)
    )
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return client


async def test_a_request_without_the_secret_is_refused_and_not_processed(harness):
    client = await client_for(harness)
    try:
        update = harness.fake.user_message(GROUP, BOB, "/checkin")
        response = await client.post("/hook", json=update, headers={SECRET_HEADER: "wrong"})
        assert response.status == 401
        response = await client.post("/hook", json=update)
        assert response.status == 401
    finally:
        await client.close()
    assert harness.replies(GROUP) == []


async def test_telegram_is_answered_after_the_reply_was_sent(harness):
    client = await client_for(harness)
    try:
        update = harness.fake.user_message(GROUP, BOB, "/checkin")
        response = await client.post("/hook", json=update, headers={SECRET_HEADER: SECRET})
        assert response.status == 200
        # No waiting: by the time Telegram has its 200, the work is done.
        assert harness.replies(GROUP) == ["Checked in! +10 points, 1-day streak."]
    finally:
        await client.close()


async def test_a_failure_answers_500_so_telegram_redelivers_and_the_retry_counts_once(harness):
    calls = {"n": 0}
    real_feed = harness.dispatcher.feed_update

    class FlakyDispatcher:
        async def feed_update(self, bot, update):
            calls["n"] += 1
            if calls["n"] == 1:
                raise ConnectionError("database went away")
            return await real_feed(bot, update)

    client = await client_for(harness, FlakyDispatcher())
    try:
        update = harness.fake.user_message(GROUP, BOB, "/checkin")
        first = await client.post("/hook", json=update, headers={SECRET_HEADER: SECRET})
        second = await client.post("/hook", json=update, headers={SECRET_HEADER: SECRET})
        third = await client.post("/hook", json=update, headers={SECRET_HEADER: SECRET})
        assert [first.status, second.status, third.status] == [500, 200, 200]
    finally:
        await client.close()
    assert harness.replies(GROUP) == ["Checked in! +10 points, 1-day streak."]


def test_there_is_no_webhook_without_a_secret(harness):
    with pytest.raises(ValueError):
        webhook_handler(harness.dispatcher, harness.bot, "")


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[" * 100_000 + b"]" * 100_000,  # nested too deeply for a recursive parser
        b'{"update_id": 5, "message": {"chat": "not a chat"}}',
    ],
    ids=["not-json", "deeply-nested", "not-an-update"],
)
async def test_a_body_that_is_not_an_update_is_acknowledged_and_saved_not_redelivered_forever(harness, tmp_path, body):
    # Telegram redelivers anything but a 2xx; an unreadable update would fail the same way every time.
    client = await client_for(harness, rejected_dir=tmp_path / "rejected")
    try:
        response = await client.post("/hook", data=body, headers={SECRET_HEADER: SECRET})
        assert response.status == 200
        assert harness.replies(GROUP) == []
    finally:
        await client.close()
    [saved] = (tmp_path / "rejected").iterdir()
    record = json.loads(saved.read_text(encoding="utf-8"))
    assert record["reason"].startswith("not an update")
    if isinstance(record["raw"], dict):  # it was JSON, just not an update
        assert record["raw"] == json.loads(body) and record["update_id"] == 5
    else:
        assert record["raw"] == body.decode()


async def test_a_database_outage_inside_a_command_answers_500_and_the_redelivery_counts_once(harness, caplog):
    """The real path: the database fails inside /checkin, the error handler must not swallow it."""
    healthy = harness.app.storage.engine
    broken = make_engine("sqlite+aiosqlite:////nonexistent-directory/cradle.db")
    client = await client_for(harness)
    update = harness.fake.user_message(GROUP, BOB, "/checkin")
    try:
        harness.app.storage.engine = broken
        statuses = [(await client.post("/hook", json=update, headers={SECRET_HEADER: SECRET})).status for _ in range(4)]
        assert statuses == [500] * 4  # an outage is never given up on, however often it is redelivered
        assert harness.replies(GROUP) == []  # no apology: the redelivery will answer
        harness.app.storage.engine = healthy  # the database is back
        again = await client.post("/hook", json=update, headers={SECRET_HEADER: SECRET})
        once_more = await client.post("/hook", json=update, headers={SECRET_HEADER: SECRET})
        assert (again.status, once_more.status) == (200, 200)
    finally:
        harness.app.storage.engine = healthy
        await broken.dispose()
        await client.close()
    assert harness.replies(GROUP) == ["Checked in! +10 points, 1-day streak."]
    async with harness.app.storage.engine.connect() as connection:
        assert (await connection.execute(select(func.count()).select_from(Checkin))).scalar() == 1
        assert (await connection.execute(select(func.count()).select_from(LedgerEntry))).scalar() == 1
