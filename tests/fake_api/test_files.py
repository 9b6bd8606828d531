"""getFile and file downloads: photos a test injects with bytes come back to the bot, in-process and over HTTP."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile, Update
from PIL import Image

from bot.qr import decode_qr
from bot.testing.fake_bot_api import FakeTelegram
from bot.testing.fake_bot_api_server import FakeBotAPIServer
from bot.testing.images import qr_photo
from bot.testing.session import FakeSession

GROUP = -1001234567890
MAMA = 1001
WECHAT = "https://u.wechat.com/EAbCdEfGhIjK"


class LocalAiohttpSession(AiohttpSession):
    """aiogram's real HTTP session, minus the 250 ms TLS grace sleep in close() (plain HTTP here)."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


@pytest.fixture(scope="module")
def photo() -> bytes:
    return qr_photo(WECHAT)


@pytest.fixture
def fake() -> FakeTelegram:
    fake = FakeTelegram()
    fake.add_chat(GROUP, "Mamas")
    return fake


@pytest.fixture
async def local_bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    bot = Bot(fake.token, session=FakeSession(fake))
    yield bot
    await bot.session.close()


@pytest.fixture
async def server(fake: FakeTelegram) -> AsyncIterator[FakeBotAPIServer]:
    async with FakeBotAPIServer(fake) as server:
        yield server


@pytest.fixture
async def http_bot(server: FakeBotAPIServer) -> AsyncIterator[Bot]:
    bot = Bot(server.fake.token, session=LocalAiohttpSession(api=TelegramAPIServer.from_base(server.base_url)))
    yield bot
    await bot.session.close()


@pytest.fixture(params=["in-process", "http"])
def bot(request: pytest.FixtureRequest) -> Bot:
    return request.getfixturevalue("local_bot" if request.param == "in-process" else "http_bot")


# ------------------------------------------------------------------ the sizes of a photo with bytes


def test_photo_with_bytes_gets_telegram_sizes_with_the_original_as_the_largest(fake: FakeTelegram, photo: bytes):
    sizes = fake.user_message(GROUP, MAMA, photo_bytes=photo)["message"]["photo"]

    assert [(s["file_id"][-2:], s["width"], s["height"]) for s in sizes] == [
        ("-s", 90, 68), ("-m", 320, 240), ("-x", 800, 600), ("-y", 1280, 960),
    ]
    assert sizes[-1]["file_size"] == len(photo)
    assert sizes[0]["file_size"] < sizes[1]["file_size"] < sizes[2]["file_size"] < len(photo)
    assert len({s["file_unique_id"] for s in sizes}) == 4


def test_bytes_that_are_not_an_image_are_served_for_every_size(fake: FakeTelegram):
    sizes = fake.user_message(GROUP, MAMA, photo_bytes=b"not a jpeg")["message"]["photo"]

    assert [s["file_size"] for s in sizes] == [10, 10, 10]


def test_photo_without_bytes_keeps_its_made_up_sizes(fake: FakeTelegram):
    sizes = fake.user_message(GROUP, MAMA, photo=True, caption="pumpkin")["message"]["photo"]

    assert [(s["file_id"][-2:], s["file_size"], s["width"]) for s in sizes] == [
        ("-s", 1_200, 90), ("-m", 14_000, 320), ("-x", 62_000, 800),
    ]


# ------------------------------------------------------------------ getFile and download, in-process and over HTTP


async def test_bot_downloads_the_photo_a_member_posted(bot: Bot, fake: FakeTelegram, photo: bytes):
    update = fake.user_message(GROUP, MAMA, photo_bytes=photo, caption="加我")
    message = Update.model_validate(update, context={"bot": bot}).message
    assert message is not None and message.photo

    downloaded = await bot.download(message.photo[-1])

    assert isinstance(downloaded, io.BytesIO)
    assert downloaded.getvalue() == photo
    assert decode_qr(downloaded.getvalue()) == [WECHAT]


async def test_get_file_gives_a_stable_path_per_size(bot: Bot, fake: FakeTelegram, photo: bytes):
    sizes = fake.user_message(GROUP, MAMA, photo_bytes=photo)["message"]["photo"]

    largest = await bot.get_file(sizes[-1]["file_id"])
    smallest = await bot.get_file(sizes[0]["file_id"])
    again = await bot.get_file(sizes[-1]["file_id"])

    assert (largest.file_id, largest.file_unique_id) == (sizes[-1]["file_id"], sizes[-1]["file_unique_id"])
    assert (largest.file_size, largest.file_path) == (len(photo), "photos/file_0.jpg")
    assert (smallest.file_size, smallest.file_path) == (sizes[0]["file_size"], "photos/file_1.jpg")
    assert again.file_path == largest.file_path


async def test_smaller_sizes_download_as_real_thumbnails(bot: Bot, fake: FakeTelegram, photo: bytes):
    sizes = fake.user_message(GROUP, MAMA, photo_bytes=photo)["message"]["photo"]

    medium = await bot.download(sizes[1]["file_id"])

    assert medium is not None
    data = medium.getvalue()
    assert len(data) == sizes[1]["file_size"]
    assert Image.open(io.BytesIO(data)).size == (320, 240)


@pytest.mark.parametrize("file_id", ["AgACAgIAAxkBAAI99999999-x", "nonsense", "AgACAgIAAxkBAAI00000001-w"])
async def test_unknown_file_id_is_refused_like_telegram(bot: Bot, fake: FakeTelegram, photo: bytes, file_id: str):
    fake.user_message(GROUP, MAMA, photo_bytes=photo)  # photo 1 exists, but has no "-w" (2560 px) size

    with pytest.raises(TelegramBadRequest, match="Bad Request: invalid file_id"):
        await bot.get_file(file_id)


async def test_photo_without_bytes_has_a_path_but_its_download_is_a_404(bot: Bot, fake: FakeTelegram):
    sizes = fake.user_message(GROUP, MAMA, photo=True)["message"]["photo"]

    file = await bot.get_file(sizes[-1]["file_id"])
    assert file.file_path == "photos/file_0.jpg"
    with pytest.raises(aiohttp.ClientResponseError) as raised:
        await bot.download(sizes[-1]["file_id"])
    assert (raised.value.status, raised.value.message) == (404, "Not Found")


async def test_document_the_bot_sent_has_a_path_but_no_content(bot: Bot, fake: FakeTelegram):
    sent = await bot.send_document(GROUP, BufferedInputFile(b"%PDF-1.4", filename="menu.pdf"))
    assert sent.document is not None

    file = await bot.get_file(sent.document.file_id)

    assert file.file_path == "documents/file_0.pdf"
    with pytest.raises(aiohttp.ClientResponseError, match="Not Found"):
        await bot.download_file(file.file_path)


# ------------------------------------------------------------------ the raw download endpoints


async def test_http_file_endpoint_serves_octet_stream_and_checks_the_token(
    server: FakeBotAPIServer, fake: FakeTelegram, photo: bytes
):
    sizes = fake.user_message(GROUP, MAMA, photo_bytes=photo)["message"]["photo"]
    status, body = await fake.call("getFile", {"file_id": sizes[-1]["file_id"]})
    path = body["result"]["file_path"]

    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.base_url}/file/bot{fake.token}/{path}") as response:
            assert (response.status, response.content_type) == (200, "application/octet-stream")
            assert await response.read() == photo
        async with http.get(f"{server.base_url}/file/bot{fake.token}/photos/file_9.jpg") as response:
            assert response.status == 404
        async with http.get(f"{server.base_url}/file/bot1:OTHER/{path}") as response:
            assert response.status == 401


async def test_in_process_stream_mirrors_the_http_answers(fake: FakeTelegram, photo: bytes):
    session = FakeSession(fake)
    sizes = fake.user_message(GROUP, MAMA, photo_bytes=photo)["message"]["photo"]
    _, body = await fake.call("getFile", {"file_id": sizes[-1]["file_id"]})
    path, base = body["result"]["file_path"], "https://api.telegram.org/file/bot"

    chunks = [chunk async for chunk in session.stream_content(f"{base}{fake.token}/{path}", chunk_size=65_536)]
    assert b"".join(chunks) == photo
    assert len(chunks) == -(-len(photo) // 65_536)

    error_body = [c async for c in session.stream_content(f"{base}{fake.token}/photos/x.jpg", raise_for_status=False)]
    assert json.loads(b"".join(error_body)) == {"ok": False, "error_code": 404, "description": "Not Found"}
    with pytest.raises(aiohttp.ClientResponseError) as raised:
        async for _ in session.stream_content(f"{base}1:OTHER/{path}"):
            pass
    assert raised.value.status == 401
