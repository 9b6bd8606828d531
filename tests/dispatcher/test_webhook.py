"""The webhook endpoint: secret check, and Telegram is answered only after the update is processed."""

from aiohttp.test_utils import TestClient, TestServer
from aiohttp import web

from bot.platforms.telegram.runner import SECRET_HEADER, webhook_handler
from tests.dispatcher.conftest import BOB, GROUP

SECRET = "s3cret-token"


async def client_for(harness, dispatcher=None) -> TestClient:
    app = web.Application()
    app.router.add_post("/hook", webhook_handler(dispatcher or harness.dispatcher, harness.bot, SECRET))
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


async def test_a_body_that_is_not_an_update_is_rejected(harness):
    client = await client_for(harness)
    try:
        response = await client.post("/hook", data=b"not json", headers={SECRET_HEADER: SECRET})
        assert response.status == 400
    finally:
        await client.close()
