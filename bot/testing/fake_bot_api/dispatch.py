"""Running one method: the method table (``_api``), parameter and flood checks, the recorder.

Methods outside the supported set answer 400 like unknown ones (with a warning in the log when
aiogram knows the method, so a missing fake is easy to tell from a typo).
"""

from __future__ import annotations

import inspect
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.testing.fake_bot_api.errors import _ApiError, _bad, _Described
from bot.testing.fake_bot_api.limits import _SEND_LIKE_EXCLUDED, _Bucket
from bot.testing.fake_bot_api.params import _check_params
from bot.testing.fake_bot_api.state import FakeState

if TYPE_CHECKING:
    from bot.testing.fake_bot_api.telegram import FakeTelegram

logger = logging.getLogger(__name__)


@dataclass
class ApiCall:
    method: str  # canonical camelCase, or as sent when unknown
    params: dict[str, Any]
    status: int
    result_or_error: Any  # the result on success, the error body otherwise
    at: float  # monotonic() at completion

    @property
    def ok(self) -> bool:
        return self.status == 200


_Handler = Callable[["FakeTelegram", dict[str, Any]], Any]
_HANDLERS: dict[str, tuple[str, _Handler, bool]] = {}  # lower name -> (name, fn, is_async)


def _api(name: str) -> Callable[[_Handler], _Handler]:
    def register(fn: _Handler) -> _Handler:
        _HANDLERS[name.lower()] = (name, fn, inspect.iscoroutinefunction(fn))
        return fn

    return register


class DispatchMixin(FakeState):
    """``call``: find the handler, check, run, answer like Telegram and record the call."""

    # ------------------------------------------------------------------ dispatch

    async def call(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Run one Bot API method; returns (HTTP status, Telegram JSON body)."""
        entry = _HANDLERS.get(method.lower())
        name = entry[0] if entry else method
        result: Any
        try:
            if entry is None:
                # The project's contract for the fake: 400 with a description naming the method.
                # (api.telegram.org itself answers 404 "Not Found" here; both are errors, never success.)
                self._warn_unimplemented(method)
                raise _bad(f"method {method!r} not found")
            _, handler, is_async = entry
            _check_params(name, params)
            self._check_limits(name, params)
            result = await handler(self, params) if is_async else handler(self, params)
        except _ApiError as error:
            status, body = error.status, error.body()
            result = body
        except Exception:  # a bug in the fake: fail loudly, like a Telegram outage would
            logger.exception("FakeTelegram crashed in %s(%r)", name, params)
            status, body = 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}
            result = body
        else:
            status = 200
            if isinstance(result, _Described):
                body = {"ok": True, "result": result.result, "description": result.description}
                result = result.result
            else:
                body = {"ok": True, "result": result}
        self.requests.append(ApiCall(name, params, status, result, self._monotonic()))
        if status != 200:
            logger.debug("fake telegram %s -> %d %s", name, status, body["description"])
        self._signal.fire()
        return status, body

    @staticmethod
    def _warn_unimplemented(method: str) -> None:
        from aiogram import methods  # only to tell "unknown" from "not faked yet"

        known = {
            api_name.lower()
            for obj in vars(methods).values()
            if isinstance(obj, type) and isinstance(api_name := getattr(obj, "__api_method__", None), str)
        }
        if method.lower() in known:
            logger.warning("FakeTelegram does not implement %s; answering 400", method)

    def _check_limits(self, method: str, params: dict[str, Any]) -> None:
        if not self.enforce_limits or not method.startswith("send") or method in _SEND_LIKE_EXCLUDED:
            return
        now = self._monotonic()
        buckets = [self._bot_bucket]
        chat_id = params.get("chat_id")
        if isinstance(chat_id, int) and chat_id < 0:
            per_minute = self.per_group_per_minute
            if chat_id not in self._group_buckets:
                self._group_buckets[chat_id] = _Bucket(per_minute, per_minute / 60, per_minute, now)
            buckets.append(self._group_buckets[chat_id])
        wait = max(bucket.wait_time(now) for bucket in buckets)
        if wait > 0:
            self.rejected_429 += 1
            retry_after = max(1, math.ceil(wait))
            raise _ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        for bucket in buckets:
            bucket.tokens -= 1
