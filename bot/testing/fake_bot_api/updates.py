"""Updates: which types are delivered, getUpdates (long polling) and webhooks with their delivery.

Deliberate simplification: webhooks accept plain http:// URLs so tests can use 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from typing import Any

import aiohttp

from bot.testing.fake_bot_api.dispatch import _api
from bot.testing.fake_bot_api.errors import _ApiError, _bad, _Described
from bot.testing.fake_bot_api.params import _flag, decode_params, read_multipart, resolve_attachments
from bot.testing.fake_bot_api.state import FakeState

logger = logging.getLogger(__name__)
ALL_UPDATE_TYPES = (
    "message", "edited_message", "channel_post", "edited_channel_post",
    "business_connection", "business_message", "edited_business_message",
    "deleted_business_messages", "message_reaction", "message_reaction_count",
    "inline_query", "chosen_inline_result", "callback_query", "shipping_query",
    "pre_checkout_query", "purchased_paid_media", "poll", "poll_answer",
    "my_chat_member", "chat_member", "chat_join_request", "chat_boost", "removed_chat_boost",
)
# What Telegram delivers when allowed_updates was never set (or set to []).
DEFAULT_UPDATE_TYPES = frozenset(ALL_UPDATE_TYPES) - {
    "chat_member", "message_reaction", "message_reaction_count",
}


WEBHOOK_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")


def _update_type(update: Mapping[str, Any]) -> str:
    return next((key for key in update if key != "update_id"), "")


class UpdatesMixin(FakeState):
    """getUpdates, the webhook methods and webhook delivery."""

    def _allowed(self) -> frozenset[str]:
        return frozenset(self._allowed_updates) if self._allowed_updates else DEFAULT_UPDATE_TYPES

    def _deliverable(self, limit: int) -> list[dict[str, Any]]:
        # Telegram never creates updates of types the bot did not subscribe to; dropping
        # them when met keeps tests independent of when allowed_updates was sent.
        allowed = self._allowed()
        if any(_update_type(u) not in allowed for u in self._updates):
            self._set_queue([u for u in self._updates if _update_type(u) in allowed])
        return self._updates[:limit]

    _WEBHOOK_CONFLICT = ("Conflict: can't use getUpdates method while webhook is active; "
                         "use deleteWebhook to delete the webhook first")

    @_api("getUpdates")
    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self._webhook:
            raise _ApiError(409, self._WEBHOOK_CONFLICT)
        offset = self._int(params, "offset", required=False, default=0) or 0
        limit = min(max(self._int(params, "limit", required=False, default=100) or 100, 1), 100)
        # Telegram clamps the long-poll timeout to 0..50 seconds (telegram-bot-api LONG_POLL_MAX_TIMEOUT).
        timeout = min(max(self._int(params, "timeout", required=False, default=0) or 0, 0), 50)
        if isinstance(params.get("allowed_updates"), list):
            self._allowed_updates = params["allowed_updates"]
        if offset < 0:  # the last -offset updates; older ones are forgotten
            self._set_queue(self._updates[offset:])
        elif offset:
            self._set_queue([u for u in self._updates if u["update_id"] >= offset or id(u) in self._redeliver])
        self._poll_generation += 1
        generation = self._poll_generation
        if timeout and not self._closing and not self._deliverable(limit):
            self._long_polls_waiting += 1
            self._signal.fire()
            try:
                await self._signal.wait_for(
                    lambda: (generation != self._poll_generation or self._closing
                             or self._webhook or self._deliverable(limit)),
                    timeout,
                )
            except TimeoutError:
                pass
            finally:
                self._long_polls_waiting -= 1
        if generation != self._poll_generation:
            raise _ApiError(409, "Conflict: terminated by other getUpdates request; "
                                 "make sure that only one bot instance is running")
        if self._webhook:  # set while we waited: these updates now belong to the webhook
            raise _ApiError(409, self._WEBHOOK_CONFLICT)
        updates = self._deliverable(limit)
        self._redeliver.difference_update(id(u) for u in updates)
        return updates

    @_api("setWebhook")
    def _set_webhook(self, params: dict[str, Any]) -> _Described:
        url = str(params.get("url") or "")
        if not url:
            return self._delete_webhook(params)
        if not url.startswith(("https://", "http://")):  # http accepted for local tests
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_RE.fullmatch(str(secret)):
            raise _bad("secret token contains unallowed characters")
        if isinstance(params.get("allowed_updates"), list):
            self._allowed_updates = params["allowed_updates"]
        if _flag(params.get("drop_pending_updates")):
            self._clear_updates()
        max_connections = self._int(params, "max_connections", required=False, default=40)
        webhook = {"url": url, "secret_token": secret, "max_connections": max_connections}
        already = self._webhook == webhook
        self._webhook = webhook
        self._webhook_error = None
        if self._delivery is None:
            logger.warning("webhook set to %s but delivery is not running; call FakeTelegram.start()", url)
        self._signal.fire()
        return _Described(True, "Webhook is already set" if already else "Webhook was set")

    @_api("deleteWebhook")
    def _delete_webhook(self, params: dict[str, Any]) -> _Described:
        if _flag(params.get("drop_pending_updates")):
            self._clear_updates()
        existed, self._webhook = self._webhook is not None, None
        self._signal.fire()
        return _Described(True, "Webhook was deleted" if existed else "Webhook is already deleted")

    @_api("getWebhookInfo")
    def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": sum(1 for u in self._updates if _update_type(u) in self._allowed()),
        }
        if self._webhook:
            info["ip_address"] = "127.0.0.1"
            info["max_connections"] = self._webhook["max_connections"]
            if self._webhook_error:
                info["last_error_date"], info["last_error_message"] = self._webhook_error
        if self._allowed_updates:
            info["allowed_updates"] = list(self._allowed_updates)
        return info

    # ------------------------------------------------------------------ webhook delivery

    def _next_webhook_update(self) -> dict[str, Any] | None:
        if not self._webhook:
            return None
        pending = self._deliverable(1)
        return pending[0] if pending else None

    async def _deliver_webhooks(self) -> None:
        """Post queued updates one at a time, in order; keep each until a 2xx answer."""
        failures_in_row = 0
        while True:
            update = await self._signal.wait_for(self._next_webhook_update, None)
            webhook = self._webhook
            assert webhook is not None and self._http is not None
            headers = {WEBHOOK_HEADER: webhook["secret_token"]} if webhook["secret_token"] else {}
            self.webhook_deliveries += 1
            try:
                async with self._http.post(webhook["url"], json=update, headers=headers) as response:
                    if 200 <= response.status < 300:
                        reply = await self._read_webhook_reply(response)
                    else:
                        answer = f"{response.status} {response.reason}"
                        raise _WebhookError(f"Wrong response from the webhook: {answer}")
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError, _WebhookError) as error:
                self.webhook_failures += 1
                failures_in_row += 1
                message = str(error) or type(error).__name__
                self._webhook_error = (self._now(), message)
                logger.info("webhook delivery of update %s failed: %s", update["update_id"], message)
                await asyncio.sleep(self.webhook_retry_delay * 2 ** min(failures_in_row - 1, 5))
                continue
            failures_in_row = 0
            self._set_queue([u for u in self._updates if u is not update])
            self._signal.fire()
            if reply:  # "reply to webhook": the answer body is itself a method call
                method = reply.pop("method")
                status, body = await self.call(str(method), reply)
                if status != 200:
                    logger.warning("webhook reply %s failed: %s", method, body.get("description"))

    async def _read_webhook_reply(self, response: aiohttp.ClientResponse) -> dict[str, Any] | None:
        content_type = response.content_type
        raw: dict[str, Any] = {}
        uploads: dict[str, str] = {}
        if content_type == "application/json":
            try:
                body = await response.json()
            except ValueError:
                return None
            raw = body if isinstance(body, dict) else {}
        elif content_type.startswith("multipart/"):
            reader = aiohttp.MultipartReader(response.headers, response.content)
            raw, uploads = await read_multipart(reader, self)
        if not raw.get("method"):
            return None
        params = decode_params(raw)
        resolve_attachments(params, uploads)
        return params


class _WebhookError(Exception):
    pass
