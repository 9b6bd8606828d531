"""``FakeSession``: an aiogram session that calls a ``FakeTelegram`` in-process.

Parameters go through the same serialisation as aiogram's ``AiohttpSession``
(``prepare_value`` to form strings) and the same decoding as the fake HTTP
server, and answers go through ``BaseSession.check_response``, so results and
exceptions match the HTTP path without any socket.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote

import aiohttp
from aiogram.client.session.base import BaseSession
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from bot.testing.fake_bot_api import NOT_FOUND, UNAUTHORIZED, FakeTelegram, decode_params, resolve_attachments

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.types import InputFile

__all__ = ["FakeSession"]


class FakeSession(BaseSession):
    def __init__(self, fake: FakeTelegram, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fake = fake

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,
    ) -> TelegramType:
        files: dict[str, InputFile] = {}
        raw: dict[str, Any] = {}
        for key, value in method.model_dump(warnings=False).items():
            value = self.prepare_value(value, bot=bot, files=files)
            if value:  # AiohttpSession drops empty fields the same way
                raw[key] = value
        params = decode_params(raw)
        if files:  # contents are never read: the fake keeps only a file_id
            uploads = {key: self.fake.register_upload(file.filename or key) for key, file in files.items()}
            resolve_attachments(params, uploads)

        if bot.token != self.fake.token:
            status, body = 401, UNAUTHORIZED
        else:
            try:
                async with asyncio.timeout(self.timeout if timeout is None else timeout):
                    status, body = await self.fake.call(method.__api_method__, params)
            except TimeoutError as error:
                raise TelegramNetworkError(method=method, message="Request timeout error") from error
        content = self.json_dumps(body)  # the only encode: check_response parses it like a real answer
        response = self.check_response(bot=bot, method=method, status_code=status, content=content)
        return cast(TelegramType, response.result)

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        """Download ``.../file/bot<token>/<file_path>`` the way the fake HTTP server serves it.

        The bytes of a file getFile gave that path to; otherwise a 404 (401 for another
        bot's token), raised as the ``aiohttp.ClientResponseError`` that ``AiohttpSession``
        raises (aiogram's ``Bot.download`` lets it through unwrapped), or with
        ``raise_for_status=False`` the error body is yielded, as ``AiohttpSession`` does.
        """
        _, marker, rest = url.partition("/file/bot")
        token, _, path = rest.partition("/")
        content = self.fake.file_content(unquote(path)) if marker and token == self.fake.token else None
        if content is None:
            status, body = (401, UNAUTHORIZED) if marker and token != self.fake.token else (404, NOT_FOUND)
            if raise_for_status:
                raise _http_error(url, status)
            content = self.json_dumps(body).encode()
        for start in range(0, len(content), chunk_size):
            yield content[start:start + chunk_size]

    async def close(self) -> None:
        pass


def _http_error(url: str, status: int) -> aiohttp.ClientResponseError:
    """What ``aiohttp``'s ``raise_for_status`` raises for an error answer to ``GET url``."""
    headers = CIMultiDictProxy(CIMultiDict({"Content-Type": "application/json"}))
    request = aiohttp.RequestInfo(URL(url), "GET", CIMultiDictProxy(CIMultiDict()), URL(url))
    return aiohttp.ClientResponseError(request, (), status=status, message=HTTPStatus(status).phrase, headers=headers)
