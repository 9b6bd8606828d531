"""``FakeSession``: an aiogram session that calls a ``FakeTelegram`` in-process.

Parameters go through the same serialisation as aiogram's ``AiohttpSession``
(``prepare_value`` to form strings) and the same decoding as the fake HTTP
server, and answers go through ``BaseSession.check_response``, so results and
exceptions match the HTTP path without any socket.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any, cast

from aiogram.client.session.base import BaseSession
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType

from bot.testing.fake_bot_api import UNAUTHORIZED, FakeTelegram, decode_params, resolve_attachments

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
        return
        yield b""  # pragma: no cover - makes this an (empty) async generator

    async def close(self) -> None:
        pass
