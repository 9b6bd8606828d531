"""How the fake answers a refusal: ``_ApiError`` (status, Telegram's description, retry_after)
and the fixed 401/404 bodies the HTTP layers answer before any method runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

UNAUTHORIZED: dict[str, Any] = {"ok": False, "error_code": 401, "description": "Unauthorized"}
NOT_FOUND: dict[str, Any] = {"ok": False, "error_code": 404, "description": "Not Found"}


class _ApiError(Exception):
    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _bad(description: str) -> _ApiError:
    return _ApiError(400, f"Bad Request: {description}")


@dataclass(frozen=True)
class _Described:
    """A successful result that carries Telegram's extra ``description`` (setWebhook...)."""

    result: Any
    description: str
