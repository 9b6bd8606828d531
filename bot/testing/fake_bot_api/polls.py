"""Polls: sendPoll and stopPoll, and keeping a poll's counts as votes arrive.

Deliberate simplification: polls never close by themselves after open_period.
"""

from __future__ import annotations

from typing import Any

from bot.testing.fake_bot_api.dispatch import _api
from bot.testing.fake_bot_api.entities import utf16_len
from bot.testing.fake_bot_api.errors import _bad
from bot.testing.fake_bot_api.messages import _MAX_CAPTION
from bot.testing.fake_bot_api.params import _POLL_OPTION_FIELDS, _flag
from bot.testing.fake_bot_api.state import FakeState

_POLL_PERIOD_MIN, _POLL_PERIOD_MAX = 5, 2_628_000  # open_period / close_date distance, seconds


class PollsMixin(FakeState):
    """The poll methods and the vote counts of sent polls."""

    def _refresh_poll(self, record: dict[str, Any]) -> None:
        message = self._messages.get(record["chat_id"], {}).get(record["message_id"])
        poll = dict(message["poll"] if message else record["poll"])
        counts = [0] * len(poll["options"])
        for options in record["votes"].values():
            for option in options:
                if 0 <= option < len(counts):
                    counts[option] += 1
        poll["options"] = [dict(option, voter_count=n) for option, n in zip(poll["options"], counts)]
        poll["total_voter_count"] = sum(1 for options in record["votes"].values() if options)
        record["poll"] = poll
        if message:
            self._store({**message, "poll": poll})

    # ------------------------------------------------------------------ methods: polls

    @_api("sendPoll")
    def _send_poll(self, params: dict[str, Any]) -> dict[str, Any]:
        # Limits from the sendPoll docs; wordings from TDLib where it has one (poll_option.cpp).
        chat = self._target_chat(params)
        question, question_entities = self._formatted(
            params, "question", 300, "poll question length must not exceed 300", prefix="question_"
        )
        if not question.strip():
            raise _bad("poll question must be non-empty")
        options = params.get("options")
        if not isinstance(options, list):
            raise _bad("can't parse options JSON object")
        if not options:
            raise _bad("poll must have at least one answer option")
        if len(options) > 12:
            raise _bad("poll can't have more than 12 options")
        texts = []
        for option in options:  # InputPollOption objects; the server still takes plain strings
            if isinstance(option, dict):
                if unknown := sorted(set(option) - _POLL_OPTION_FIELDS):
                    raise _bad(f'unknown field "{unknown[0]}" in InputPollOption')
                option = option.get("text")
            if not isinstance(option, str):
                raise _bad("expected an option to be of type String")
            texts.append(option)
        if not all(text.strip() for text in texts):
            raise _bad("poll options must be non-empty")
        if not all(utf16_len(text) <= 100 for text in texts):
            raise _bad("poll options length must not exceed 100")
        kind = str(params.get("type") or "regular")
        if kind not in ("regular", "quiz"):
            raise _bad("unsupported poll type specified")
        poll: dict[str, Any] = {
            "id": str(5_000_000_000_000_000_000 + next(self._ids)),
            "question": question,
            "options": [{"persistent_id": str(i), "text": t, "voter_count": 0} for i, t in enumerate(texts)],
            "total_voter_count": 0,
            "is_closed": _flag(params.get("is_closed")),
            "is_anonymous": _flag(params.get("is_anonymous", True)),
            "type": kind,
            "allows_multiple_answers": _flag(params.get("allows_multiple_answers")) and kind == "regular",
            "allows_revoting": _flag(params.get("allows_revoting", kind == "regular")),
            "members_only": _flag(params.get("members_only")),
        }
        if question_entities:
            poll["question_entities"] = question_entities
        if kind == "quiz":
            correct = params.get("correct_option_ids")
            # "monotonically increasing 0-based identifiers of the correct answer options"
            if not isinstance(correct, list) or not correct or not all(
                isinstance(i, int) and not isinstance(i, bool) and 0 <= i < len(texts) for i in correct
            ) or correct != sorted(set(correct)):
                raise _bad("wrong correct option ids specified")
            poll["correct_option_ids"] = correct
            poll["correct_option_id"] = correct[0]  # pre-9.6 field, still read by older code
        elif params.get("correct_option_ids") is not None:
            raise _bad("correct option ids can be specified only for quizzes")
        if params.get("explanation"):
            if kind != "quiz":
                raise _bad("explanation can be specified only for quizzes")
            explanation, explanation_entities = self._formatted(
                params, "explanation", 200, "explanation is too long", prefix="explanation_"
            )
            if explanation.count("\n") > 2:  # "0-200 characters with at most 2 line feeds"
                raise _bad("explanation can't contain more than 2 line feeds")
            poll["explanation"] = explanation
            if explanation_entities:
                poll["explanation_entities"] = explanation_entities
        open_period = self._int(params, "open_period", required=False)
        close_date = self._int(params, "close_date", required=False)
        if open_period is not None and close_date is not None:
            raise _bad("open_period and close_date can't be used together")
        if open_period is not None:
            if not _POLL_PERIOD_MIN <= open_period <= _POLL_PERIOD_MAX:
                raise _bad(f"open_period must be {_POLL_PERIOD_MIN}-{_POLL_PERIOD_MAX} seconds")
            poll["open_period"] = open_period
            poll["close_date"] = self._now() + open_period
        elif close_date is not None:
            if not _POLL_PERIOD_MIN <= close_date - self._now() <= _POLL_PERIOD_MAX:
                raise _bad(f"close_date must be {_POLL_PERIOD_MIN}-{_POLL_PERIOD_MAX} seconds in the future")
            poll["close_date"] = close_date
        if params.get("description"):
            description, _ = self._formatted(
                params, "description", _MAX_CAPTION, "poll description is too long", prefix="description_"
            )
            poll["description"] = description
        message = self._send(chat, params, {"poll": poll})
        self._polls[poll["id"]] = {
            "chat_id": chat["id"], "message_id": message["message_id"], "poll": poll, "votes": {},
        }
        return message

    @_api("stopPoll")
    def _stop_poll(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target_chat(params)
        message_id = self._int(params, "message_id")
        message = self._messages.get(chat["id"], {}).get(message_id)  # type: ignore[arg-type]
        if message is None or "poll" not in message:
            raise _bad("message with poll to stop not found")
        if message["from"]["id"] != self.bot_id:
            raise _bad("message can't be edited")
        if message["poll"]["is_closed"]:
            raise _bad("poll has already been closed")
        poll = {**message["poll"], "is_closed": True}
        updated = {**message, "poll": poll}
        if markup := self._check_markup(params.get("reply_markup")):
            updated["reply_markup"] = markup
        self._store(updated)
        self._polls[poll["id"]]["poll"] = poll
        return poll
