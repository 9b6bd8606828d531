"""Webhook mode as a real process: Telegram (the fake) posts updates, the bot answers and stops cleanly."""

import signal
import socket

from tests.e2e.conftest import START_TIMEOUT, BotProcess, write_config

GROUP = -100888
MAMA = 5151


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_webhook_mode_receives_updates_with_the_secret_and_replies(fake_server, database_url, tmp_path):
    fake, server = fake_server
    fake.add_chat(GROUP, "宝妈交流群")
    fake.add_user(MAMA, "Lily", language_code="en")
    port = free_port()
    webhook = (
        "mode = \"webhook\"\n[telegram.webhook]\n"
        f'url = "http://127.0.0.1:{port}/telegram/webhook"\nsecret = "e2e-secret"\n'
        f'listen_host = "127.0.0.1"\nlisten_port = {port}\n'
    )
    config = write_config(
        tmp_path / "config.toml", token=fake.token, api_base=server.base_url, database_url=database_url, extra=webhook
    )
    bot = BotProcess(config)
    await bot.start()
    try:
        try:
            await fake.wait_until(lambda: fake.webhook_url, timeout=START_TIMEOUT)
        except TimeoutError:
            raise AssertionError(f"bot did not set its webhook:\n{bot.log()}") from None
        [call] = fake.calls("setWebhook")
        assert call.params["secret_token"] == "e2e-secret"
        assert "chat_member" in call.params["allowed_updates"]
        fake.user_message(GROUP, MAMA, "/checkin")
        [reply] = await fake.wait_for_message(GROUP, contains="Checked in!", timeout=10)
        assert reply["text"] == "Checked in! +10 points, 1-day streak."
    finally:
        code = await bot.stop(signal.SIGTERM)
    assert code == 0, bot.log()
    assert fake.webhook_failures == 0
