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


class DrainedBotProcess(BotProcess):
    """A BotProcess whose output is read while it runs.

    ``BotProcess`` reads the output only at ``stop()``: a bot that logs more than the pipe holds
    (64 KiB: a few dozen tracebacks in an outage) blocks on its next log line, event loop and all.
    """

    _reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await super().start()
        assert self.process is not None and self.process.stdout is not None
        self._reader = asyncio.create_task(self._read(self.process.stdout))

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(65536):
            self.output += chunk

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        assert self.process is not None and self._reader is not None
        if self.process.returncode is None:
            self.process.send_signal(sig)
        try:
            await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        await self._reader
        return self.process.returncode if self.process.returncode is not None else -1


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


async def start_polling_bot(fake, config, bot: BotProcess | None = None) -> BotProcess:
    bot = bot or BotProcess(config)
    await bot.start()
    try:
        await fake.wait_until(lambda: fake.long_polls_waiting > 0, timeout=START_TIMEOUT)
    except TimeoutError:
        await bot.stop()
        raise AssertionError(f"bot did not start polling:\n{bot.log()}") from None
    return bot


# Sends unpaced in e2e bursts: the default 20 messages a minute per group would make a burst of
# check-in replies take minutes (the fake does not enforce limits unless asked).
FAST_SENDS = (
    "[telegram.limits]\nper_second = 1000\nper_group_per_minute = 6000\nper_chat_per_second = 1000\nchat_burst = 1000\n"
)


async def wait_for_query(database_url, statement, predicate, timeout: float, interval: float = 0.2):
    """Run ``statement`` until ``predicate(its scalar)`` holds; returns the last value (asserts on timeout)."""
    engine = make_engine(database_url)
    value = None
    try:
        async with asyncio.timeout(timeout):
            while True:
                async with engine.connect() as connection:
                    value = (await connection.execute(statement)).scalar()
                if predicate(value):
                    return value
                await asyncio.sleep(interval)
    except TimeoutError:
        raise AssertionError(f"database condition not met within {timeout}s; last value {value!r}") from None
    finally:
        await engine.dispose()


class DatabaseProxy:
    """A TCP proxy between the bot and PostgreSQL that a test can cut and restore.

    ``cut()`` closes every proxied connection and stops listening, so new connections are refused;
    ``restore()`` listens again on the same port.
    """

    def __init__(self, database_url: str) -> None:
        from sqlalchemy.engine import make_url

        self._target = make_url(database_url)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return self._target.set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def restore(self) -> None:
        await self.start()

    async def close(self) -> None:
        await self.cut()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                self._target.host or "127.0.0.1", self._target.port or 5432
            )
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, upstream_writer))
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer), return_exceptions=True
        )
        for each in (writer, upstream_writer):
            self._writers.discard(each)
            each.transport.abort()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.transport.abort()
