"""Updates the bot could not read, kept for inspection instead of being asked for again.

Telegram redelivers anything it did not get a 2xx for (webhook) or that was not confirmed (polling);
an update aiogram cannot parse fails the same way every time, so asking again would only block the
updates behind it. It is saved here, one JSON file per update, and acknowledged:

    {"reason": "...", "received_at": "2026-12-04T10:00:00+00:00", "update_id": 123 or null, "raw": ...}

``raw`` is the update as parsed JSON when it could be parsed (and re-serialised), otherwise the body
as text. Files are named ``<UTC time>-<update id or "unknown">-<digest>.json``; nothing deletes them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

DEFAULT_DIRECTORY = "rejected_updates"
MAX_BYTES = 1_000_000  # a body larger than this is cut (Telegram's updates are a few kilobytes)


def save_rejected(
    raw: dict[str, Any] | bytes | str, reason: str, *, directory: str | os.PathLike[str] = DEFAULT_DIRECTORY
) -> Path | None:
    """Write ``raw`` and why it was rejected under ``directory``; the file written, or None.

    Never raises: a full disk must not stop the bot from acknowledging the update (the log line stays).
    """
    body = _as_bytes(raw)
    update_id = raw.get("update_id") if isinstance(raw, dict) else None
    if not isinstance(update_id, int):
        update_id = None
    now = datetime.now(UTC)
    digest = hashlib.sha256(body).hexdigest()[:12]
    name = f"{now:%Y%m%dT%H%M%S%fZ}-{update_id if update_id is not None else 'unknown'}-{digest}.json"
    try:
        parsed: Any = raw if isinstance(raw, dict) else body.decode("utf-8", errors="backslashreplace")
        record = {"reason": reason, "received_at": now.isoformat(), "update_id": update_id, "raw": parsed}
        try:
            text = json.dumps(record, ensure_ascii=False)
        except (ValueError, TypeError, RecursionError):
            record["raw"] = body.decode("utf-8", errors="backslashreplace")
            text = json.dumps(record, ensure_ascii=False)
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        logger.error("could not save rejected update %s (%s) under %s: %s", update_id, reason, directory, exc)
        return None
    logger.warning("update %s rejected (%s); saved to %s", update_id, reason, path)
    return path


def _as_bytes(raw: dict[str, Any] | bytes | str) -> bytes:
    if isinstance(raw, bytes):
        return raw[:MAX_BYTES]
    if isinstance(raw, str):
        return raw.encode("utf-8", errors="backslashreplace")[:MAX_BYTES]
    try:
        return json.dumps(raw, ensure_ascii=False, default=str).encode("utf-8")[:MAX_BYTES]
    except (ValueError, TypeError, RecursionError):
        try:
            return repr(raw).encode("utf-8", errors="backslashreplace")[:MAX_BYTES]
        except RecursionError:
            return b"<too deeply nested to show>"
