"""decode_qr: 2D codes in member photos, never product barcodes, never an exception."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
import zxingcpp
from PIL import Image

from bot import qr
from bot.qr import decode_qr
from bot.testing.images import barcode_photo, code_photo, plain_photo, qr_photo

WECHAT = "https://u.wechat.com/EAbCdEfGhIjK"
PLAIN_TEXT = "加我微信 mama_2024，免费领奶粉试用装"


def test_wechat_qr_code_in_a_photo_is_found():
    assert decode_qr(qr_photo(WECHAT)) == [WECHAT]


def test_plain_text_qr_code_is_found_with_its_chinese_text():
    assert decode_qr(qr_photo(PLAIN_TEXT)) == [PLAIN_TEXT]


@pytest.mark.parametrize("size", [(2560, 1920), (960, 1280), (1080, 2340), (640, 480)])
def test_qr_code_a_quarter_of_the_width_survives_downscaling_at_any_photo_size(size):
    assert decode_qr(qr_photo(WECHAT, size=size)) == [WECHAT]


@pytest.mark.parametrize(
    "code_format",
    [zxingcpp.BarcodeFormat.MicroQRCode, zxingcpp.BarcodeFormat.DataMatrix, zxingcpp.BarcodeFormat.Aztec],
)
def test_other_2d_codes_that_can_carry_a_contact_are_found(code_format):
    assert decode_qr(code_photo("wx: mama2024", code_format)) == ["wx: mama2024"]


def test_photo_without_a_code_has_none():
    assert decode_qr(plain_photo()) == []


def test_product_barcode_on_a_pack_is_not_a_qr_code():
    photo = barcode_photo()
    # The barcode is really there and readable: it is ignored, not missed.
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(photo)))
    assert [barcode.format for barcode in found if barcode.text == "6901234567892"] == [zxingcpp.BarcodeFormat.EAN13]

    assert decode_qr(photo) == []


@pytest.mark.parametrize("image_format", ["PNG", "WEBP"])
def test_png_and_webp_images_are_decoded_too(image_format):
    out = io.BytesIO()
    Image.open(io.BytesIO(qr_photo(WECHAT))).save(out, image_format)
    assert decode_qr(out.getvalue()) == [WECHAT]


def test_plain_png_has_no_code():
    out = io.BytesIO()
    Image.open(io.BytesIO(plain_photo())).save(out, "PNG")
    assert decode_qr(out.getvalue()) == []


def test_transparent_png_code_is_read_on_white():
    modules = Image.fromarray(zxingcpp.create_barcode(WECHAT, zxingcpp.BarcodeFormat.QRCode).to_image())
    code = modules.resize((modules.width * 8, modules.height * 8), Image.Resampling.NEAREST)
    sticker = Image.new("RGBA", code.size, (0, 0, 0, 0))  # transparent black...
    sticker.putalpha(code.point(lambda value: 255 - value))  # ...opaque only where the modules are
    out = io.BytesIO()
    sticker.save(out, "PNG")
    assert decode_qr(out.getvalue()) == [WECHAT]


@pytest.mark.parametrize(
    "data",
    [b"", b"not an image at all", b"\xff\xd8\xff\xe0" + b"\x00" * 64, b"GIF89a" + b"\x00" * 32],
    ids=["empty", "text", "broken-jpeg-header", "gif"],
)
def test_bytes_that_are_not_a_supported_image_give_nothing(data):
    assert decode_qr(data) == []


def test_truncated_photo_gives_nothing():
    photo = qr_photo(WECHAT)
    assert decode_qr(photo[: len(photo) // 3]) == []


def test_corrupted_photo_gives_nothing():
    photo = bytearray(qr_photo(WECHAT))
    photo[600:20_000] = bytes(range(256)) * 76 + bytes(range(144))
    assert decode_qr(bytes(photo)) == []


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares its size and then stops after a few bytes of pixels (a bomb probe)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))


@pytest.mark.parametrize("size", [(65_535, 65_535), (5_000, 5_000)], ids=["pillow-bomb", "over-max-pixels"])
def test_huge_dimensions_give_nothing_and_leave_pillow_settings_alone(size):
    limit = Image.MAX_IMAGE_PIXELS
    assert decode_qr(_png_header(*size)) == []
    assert Image.MAX_IMAGE_PIXELS == limit


def test_real_image_over_max_pixels_is_not_decoded(monkeypatch):
    photo = qr_photo(WECHAT)
    monkeypatch.setattr(qr, "MAX_PIXELS", 1280 * 960 - 1)
    assert decode_qr(photo) == []
