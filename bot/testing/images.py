"""Photo-like JPEG bytes for tests: with a QR code, with a product barcode, or plain.

The pictures imitate what members post (a noisy, unevenly lit background with a few
shapes and some text) rather than a clean generated code, so a decoder that only
copes with perfect images fails here.  They are deterministic: the same arguments
give the same bytes.
"""

from __future__ import annotations

import io
import zlib

import numpy as np
import zxingcpp
from PIL import Image, ImageDraw, ImageFont

__all__ = ["PHOTO_BOXES", "barcode_photo", "code_photo", "photo_sizes", "plain_photo", "qr_photo"]

DEFAULT_SIZE = (1280, 960)
JPEG_QUALITY = 85
# Telegram keeps a photo in these sizes: the suffix letter and the box it fits in.
PHOTO_BOXES = (("s", 90), ("m", 320), ("x", 800), ("y", 1280), ("w", 2560))


def qr_photo(payload: str, *, size: tuple[int, int] = DEFAULT_SIZE, seed: int = 1) -> bytes:
    """A photo with a QR code of ``payload`` about a quarter of the photo's width across."""
    return code_photo(payload, zxingcpp.BarcodeFormat.QRCode, size=size, seed=seed)


def code_photo(
    payload: str, code_format: zxingcpp.BarcodeFormat, *, size: tuple[int, int] = DEFAULT_SIZE, seed: int = 1
) -> bytes:
    """A photo with a 2D code (QRCode, DataMatrix, Aztec...) a quarter of the photo's width across."""
    picture = _background(size, seed)
    code = _code_image(zxingcpp.create_barcode(payload, code_format), size[0] // 4)
    # Off centre, as if held up next to other things in the shot.
    picture.paste(code, (size[0] * 3 // 5, size[1] // 5))
    return _jpeg(picture)


def plain_photo(*, size: tuple[int, int] = DEFAULT_SIZE, seed: int = 1) -> bytes:
    """The same kind of photo without any code in it."""
    return _jpeg(_background(size, seed))


def barcode_photo(*, size: tuple[int, int] = DEFAULT_SIZE, digits: str = "6901234567892", seed: int = 1) -> bytes:
    """A photo of a product pack: an EAN-13 barcode (a 1D code, not a contact) and no QR code."""
    picture = _background(size, seed)
    code = _code_image(zxingcpp.create_barcode(digits, zxingcpp.BarcodeFormat.EAN13), size[0] * 2 // 5,
                       height=size[1] // 4)
    picture.paste(code, (size[0] // 2, size[1] // 2))
    return _jpeg(picture)


def photo_sizes(data: bytes) -> list[tuple[str, int, int, bytes]]:
    """The sizes Telegram would keep of an uploaded photo: ``(letter, width, height, jpeg)``, smallest first.

    Each box smaller than the photo gets a downscaled JPEG; the largest size is ``data``
    itself (Telegram recompresses it; tests want their exact bytes back).  Raises
    ``ValueError`` when ``data`` is not an image Pillow can read.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            original = image.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise ValueError(f"not a readable image: {error}") from None
    longest = max(original.size)
    largest = next((letter for letter, box in PHOTO_BOXES if box >= longest), PHOTO_BOXES[-1][0])
    sizes: list[tuple[str, int, int, bytes]] = []
    for letter, box in PHOTO_BOXES:
        if letter == largest:
            break
        thumbnail = original.copy()
        thumbnail.thumbnail((box, box))
        sizes.append((letter, thumbnail.width, thumbnail.height, _jpeg(thumbnail)))
    return [*sizes, (largest, original.width, original.height, data)]


def _code_image(barcode: zxingcpp.Barcode, width: int, *, height: int | None = None) -> Image.Image:
    """The code drawn one pixel per module (quiet zone included), blown up to about ``width`` pixels.

    ``to_image()`` without arguments is one pixel per module on every zxing-cpp that has
    ``create_barcode`` (2.3 calls the argument ``size_hint``, 3.x ``scale``); Pillow scales.
    """
    modules = Image.fromarray(np.asarray(barcode.to_image())).convert("RGB")
    scale = max(1, width // modules.width)
    return modules.resize((modules.width * scale, height or modules.height * scale), Image.Resampling.NEAREST)


def _background(size: tuple[int, int], seed: int) -> Image.Image:
    width, height = size
    rng = np.random.default_rng(zlib.crc32(f"{seed}:{width}x{height}".encode()))
    # Warm indoor light falling off towards one corner, plus sensor noise.
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    light = 1.0 - 0.45 * (xs / width + ys / height) / 2
    base = np.stack([light * 215, light * 190, light * 160], axis=-1)
    noise = rng.normal(0.0, 12.0, size=(height, width, 3))
    picture = Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8), "RGB")

    draw = ImageDraw.Draw(picture)
    for _ in range(6):  # toys, plates, a bottle...
        x0, y0 = int(rng.integers(0, width * 3 // 4)), int(rng.integers(0, height * 3 // 4))
        x1, y1 = x0 + int(rng.integers(width // 12, width // 4)), y0 + int(rng.integers(height // 12, height // 4))
        colour = tuple(int(c) for c in rng.integers(30, 230, size=3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=colour, outline=(40, 40, 40), width=3)
    font = ImageFont.load_default(size=max(12, height // 24))
    draw.text((width // 20, height * 4 // 5), "Baby food, day 12: pumpkin puree", fill=(35, 30, 25), font=font)
    draw.text((width // 20, height // 20), "10:42", fill=(250, 250, 250), font=font)
    return picture


def _jpeg(picture: Image.Image) -> bytes:
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()
