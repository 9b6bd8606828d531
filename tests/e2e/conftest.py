"""End to end: the bot as a real process (`python -m bot run`) against the fake Bot API over HTTP."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from bot.testing.fake_bot_api import FakeTelegram
from bot.testing.fake_bot_api_server import FakeBotAPIServer
from models.engine import make_engine

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0


class BotProcess:
    """Starts and stops `python -m bot run` with a config pointing at the fake server."""

    def __init__(self, config: Path, *extra: str) -> None:
        self.config = config
        self.extra = extra
        self.process: asyncio.subprocess.Process | None = None
        self.output = b""

    async def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CRADLE_")}
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--config", str(self.config), *self.extra,
            cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(sig)
        try:
            out, _ = await asyncio.wait_for(self.process.communicate(), timeout)
        except TimeoutError:
            self.process.kill()
            out, _ = await self.process.communicate()
        self.output += out or b""
        return self.process.returncode if self.process.returncode is not None else -1

    def log(self) -> str:
        return self.output.decode(errors="replace")


def write_config(path: Path, *, token: str, api_base: str, database_url: str, extra: str = "") -> Path:
    path.write_text(
        f'[telegram]\ntoken = "{token}"\napi_base = "{api_base}"\n{extra}\n'
        f'[database]\nurl = "{database_url}"\n\n'
        '[community]\nname = "E2E 妈妈群"\ntimezone = "Asia/Shanghai"\nlanguage = "zh-CN"\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture
async def fake_server():
    fake = FakeTelegram()
    async with FakeBotAPIServer(fake) as server:
        yield fake, server


async def query(database_url, statement):
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            return (await connection.execute(statement)).scalar()
    finally:
        await engine.dispose()


async def start_polling_bot(fake, config) -> BotProcess:
    bot = BotProcess(config)
    await bot.start()
    try:
        await fake.wait_until(lambda: fake.long_polls_waiting > 0, timeout=START_TIMEOUT)
    except TimeoutError:
        await bot.stop()
        raise AssertionError(f"bot did not start polling:\n{bot.log()}") from None
    return bot
