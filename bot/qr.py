"""Find QR codes (and other 2D codes that carry contacts) in a photo.

Platform-neutral: takes the image bytes, returns the decoded texts.  Advertisers post
WeChat QR codes; product barcodes (EAN/UPC and other 1D codes on a diaper pack) are
not contacts and are never reported.

Speed: this runs for every group photo (in a worker thread), so the picture is shrunk
before decoding.  JPEG is decoded straight to a smaller greyscale image (libjpeg's DCT
scaling, ``Image.draft``), then resized until its shorter side is ``DECODE_SHORT_SIDE``.
A QR code a quarter as wide as a 1280x960 photo is still ~4 pixels a module there.
Nothing is retried at full size: a code too small to survive that is too small to scan
from a phone screen anyway, and the full-size pass costs ~5x more.
"""

from __future__ import annotations

import io
import logging

import zxingcpp
from PIL import Image

logger = logging.getLogger(__name__)

__all__ = ["DECODE_SHORT_SIDE", "MAX_PIXELS", "decode_qr"]

# Refuse decompression bombs: Telegram photos are at most 2560 px a side; this leaves
# room for documents and screenshots while capping decoded memory (~16 MB greyscale).
MAX_PIXELS = 4096 * 4096
# The shorter side of the image actually decoded (measured on photos with codes a fifth
# to a third of the photo across: 480 loses dense codes, 720 costs 2x for little).
DECODE_SHORT_SIDE = 540

# A string, not a parsed BarcodeFormats: a module-level zxing object outlives the extension at exit and
# nanobind then prints a leak report on every shutdown.
_FORMATS = "QRCode,MicroQRCode,DataMatrix,Aztec"
_IMAGE_FORMATS = ("JPEG", "PNG", "WEBP")  # only these parsers ever see member uploads


def decode_qr(data: bytes) -> list[str]:
    """Texts of the 2D codes (QR, Micro QR, Data Matrix, Aztec) in a JPEG/PNG/WebP image.

    Returns each distinct text once, in the order found; [] when there is none, and
    for anything that is not a readable image of at most ``MAX_PIXELS`` (never raises).
    """
    if not data:
        return []
    try:
        picture = _prepare(data)
        if picture is None:
            return []
        barcodes = zxingcpp.read_barcodes(picture, formats=zxingcpp.barcode_formats_from_str(_FORMATS), text_mode=zxingcpp.TextMode.Plain)
    except Exception as error:  # corrupt, truncated or hostile input: not our problem to report
        logger.debug("no QR decoding for a %d-byte image: %s", len(data), error)
        return []
    return list(dict.fromkeys(barcode.text for barcode in barcodes))


def _prepare(data: bytes) -> Image.Image | None:
    """The image as greyscale, shrunk for decoding; None when it is too big to open."""
    with Image.open(io.BytesIO(data), formats=_IMAGE_FORMATS) as image:
        width, height = image.size
        if width <= 0 or height <= 0 or width * height > MAX_PIXELS:
            logger.debug("image of %dx%d pixels skipped for QR decoding", width, height)
            return None
        scale = DECODE_SHORT_SIDE / min(width, height)
        if scale < 1:
            # JPEG only (a no-op elsewhere): decode at 1/2, 1/4 or 1/8 size, never below the target.
            image.draft("L", (int(width * scale), int(height * scale)))
        grey = _greyscale(image)
    scale = DECODE_SHORT_SIDE / min(grey.size)
    if scale < 1:
        size = (max(1, round(grey.width * scale)), max(1, round(grey.height * scale)))
        grey = grey.resize(size, Image.Resampling.BICUBIC)
    return grey


def _greyscale(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        # A transparent sticker-style code: put it on white, or transparent pixels turn black.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("L")
    return image.convert("L")
