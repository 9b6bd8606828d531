"""HTTP front for ``FakeTelegram``: Telegram's URL shape and body encodings over aiohttp.

``aiogram`` talks to it with ``TelegramAPIServer.from_base(server.base_url)``.
Besides ``/bot{token}/{method}`` a few ``/_fake/...`` endpoints let a human drive
the standalone server (``python -m bot.testing.fake_bot_api``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from bot.testing.fake_bot_api import (
    NOT_FOUND,
    UNAUTHORIZED,
    FakeTelegram,
    decode_params,
    read_multipart,
    resolve_attachments,
)

logger = logging.getLogger(__name__)

__all__ = ["FakeBotAPIServer", "main"]

_MAX_BODY = 50 * 1024 * 1024  # Telegram's upload limit for bots


def _telegram_json(body: dict[str, Any], status: int) -> web.Response:
    return web.Response(text=json.dumps(body, ensure_ascii=False), status=status, content_type="application/json")


class FakeBotAPIServer:
    """Serve a ``FakeTelegram`` on ``http://host:port`` (port 0 picks a free one)."""

    def __init__(
        self, fake: FakeTelegram, host: str = "127.0.0.1", port: int = 0, *, log_calls: bool = False
    ) -> None:
        self.fake = fake
        self.host = host
        self.port = port
        self.log_calls = log_calls
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        if self._runner is None:
            raise RuntimeError("FakeBotAPIServer is not started")
        return f"http://{self.host}:{self.port}"

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=_MAX_BODY)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{path:.*}", self._handle_file)
        app.router.add_post("/_fake/message", self._handle_fake_message)
        app.router.add_post("/_fake/update", self._handle_fake_update)
        app.router.add_get("/_fake/sent/{chat_id}", self._handle_fake_sent)
        return app

    async def start(self) -> None:
        if self._runner is not None:
            return
        # handler_cancellation: a client that hangs up ends its long poll, as on Telegram.
        runner = web.AppRunner(self.make_app(), access_log=None, handler_cancellation=True)
        await runner.setup()
        await web.TCPSite(runner, self.host, self.port).start()
        self.port = runner.addresses[0][1]
        self._runner = runner
        await self.fake.start()
        logger.info("fake Telegram Bot API listening on %s", self.base_url)

    async def stop(self) -> None:
        await self.fake.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotAPIServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ handlers

    async def _handle_method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.fake.token:
            return _telegram_json(UNAUTHORIZED, 401)
        method = request.match_info["method"]
        try:
            params = await self._read_params(request)
        except ValueError:
            return _telegram_json(
                {"ok": False, "error_code": 400, "description": "Bad Request: can't parse JSON object"}, 400
            )
        status, body = await self.fake.call(method, params)
        if self.log_calls:
            logger.info("%s %s -> %d %s", method, params, status, body.get("result", body.get("description")))
        return _telegram_json(body, status)

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        """Query string plus JSON, urlencoded or multipart body, decoded like Telegram."""
        raw: dict[str, Any] = dict(request.query)
        uploads: dict[str, str] = {}
        if request.body_exists:
            content_type = request.content_type
            if content_type == "application/json":
                body = await request.json()
                if not isinstance(body, dict):
                    raise ValueError("JSON object expected")
                raw.update(body)
            elif content_type.startswith("multipart/"):
                fields, uploads = await read_multipart(await request.multipart(), self.fake)
                raw.update(fields)
            else:  # application/x-www-form-urlencoded (and anything form-like)
                form = await request.post()
                raw.update((key, value) for key, value in form.items() if isinstance(value, str))
        params = decode_params(raw)
        resolve_attachments(params, uploads)
        return params

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.fake.token:
            return _telegram_json(UNAUTHORIZED, 401)
        content = self.fake.file_content(request.match_info["path"])
        if content is None:  # unknown path, or a file whose bytes the fake does not keep
            return _telegram_json(NOT_FOUND, 404)
        return web.Response(body=content, content_type="application/octet-stream")

    async def _handle_fake_message(self, request: web.Request) -> web.Response:
        """Manual testing: {"chat_id": -100, "user_id": 7, "text": "/start"} -> queued update."""
        body = await request.json()
        update = self.fake.user_message(int(body["chat_id"]), int(body["user_id"]), body.get("text"))
        return web.json_response(update)

    async def _handle_fake_update(self, request: web.Request) -> web.Response:
        return web.json_response(self.fake.inject(await request.json()))

    async def _handle_fake_sent(self, request: web.Request) -> web.Response:
        return web.json_response(self.fake.sent_messages(int(request.match_info["chat_id"])))


async def _serve(args: argparse.Namespace) -> None:
    fake = FakeTelegram(args.token, enforce_limits=args.enforce_limits)
    async with FakeBotAPIServer(fake, args.host, args.port, log_calls=True) as server:
        print(f"fake Bot API at {server.base_url} (token {fake.token}); Ctrl-C to stop", flush=True)
        await asyncio.Event().wait()


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.testing.fake_bot_api", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="42:TEST")
    parser.add_argument("--enforce-limits", action="store_true", help="answer 429 like Telegram's flood limits")
    args = parser.parse_args(list(argv) if argv is not None else None)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        asyncio.run(_serve(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
