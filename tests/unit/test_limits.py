"""Telegram's limits as pure rules: fitting texts, restriction windows, config durations, button data, typed numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiogram import Bot
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage, SendPhoto
from aiogram.types import ReplyParameters

from bot.cli import main
from bot.config import ConfigError, load_settings
from bot.core.lengths import ELLIPSIS, REASON_MAX, clip_reason, fit, utf16_len
from bot.core.numbers import parse_count
from bot.faq import knowledge
from bot.moderation.durations import parse_duration, restriction_allowed, restriction_until
from bot.platforms.telegram.group_control import UNRESTRICTED, ModUndoCD
from bot.platforms.telegram.outgoing import fitted_changes
from handlers.welcome import CaptchaCD

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


# ---------------------------------------------------------------- fitting texts


def test_a_text_within_the_limit_is_left_alone():
    assert fit("你好，世界", 5) == "你好，世界"


def test_a_long_text_is_cut_after_a_whole_line_with_an_ellipsis():
    text = "第一行规则。\n第二行规则。\n第三行规则很长很长很长很长很长很长"
    assert fit(text, 20) == "第一行规则。\n第二行规则。" + ELLIPSIS


def test_without_a_line_the_cut_keeps_whole_sentences_then_whole_words():
    assert fit("One sentence. Another one that goes on", 22) == "One sentence." + ELLIPSIS
    assert fit("words and more words and more", 16) == "words and more" + ELLIPSIS


def test_characters_outside_the_basic_plane_count_twice_and_are_never_split():
    text = "👶" * 10
    assert utf16_len(text) == 20
    fitted = fit(text, 7)
    assert fitted == "👶👶👶" + ELLIPSIS and utf16_len(fitted) <= 7
    assert fitted.encode("utf-16-le").decode("utf-16-le") == fitted  # no lone surrogate


def test_html_is_never_cut_inside_a_tag_or_an_entity_and_open_tags_are_closed():
    assert fit("<b>bold text here</b> and more", 20, html=True) == "<b>bold text…</b>"
    assert fit("a &amp; b &amp; c &amp; d", 12, html=True) == "a &amp; b" + ELLIPSIS
    assert not fit("xx <a href='https://example.com/long/path'>link</a>", 20, html=True).endswith("<")


def test_a_reason_is_stored_trimmed_and_at_most_the_column_length():
    assert clip_reason("  spam  ") == "spam"
    long = clip_reason("Please stop. " * 100)
    assert len(long) <= REASON_MAX and long.endswith(ELLIPSIS)


def test_outgoing_texts_are_fitted_per_method():
    bot = Bot("42:TEST")
    message = fitted_changes(bot, SendMessage(chat_id=1, text="x" * 5000))
    assert len(message["text"]) == 4096 and message["text"].endswith(ELLIPSIS)
    assert len(fitted_changes(bot, EditMessageText(chat_id=1, message_id=2, text="y " * 3000))["text"]) <= 4096
    assert len(fitted_changes(bot, AnswerCallbackQuery(callback_query_id="1", text="z" * 300))["text"]) == 200
    assert len(fitted_changes(bot, SendPhoto(chat_id=1, photo="file", caption="c" * 2000))["caption"]) == 1024
    assert fitted_changes(bot, SendMessage(chat_id=1, text="short")) == {}


def test_replies_are_sent_as_reply_parameters_that_allow_a_missing_message():
    bot = Bot("42:TEST")
    legacy = fitted_changes(bot, SendMessage(chat_id=1, text="hi", reply_to_message_id=5, allow_sending_without_reply=False))
    assert legacy["reply_parameters"] == ReplyParameters(message_id=5, allow_sending_without_reply=True)
    assert legacy["reply_to_message_id"] is None and legacy["allow_sending_without_reply"] is None
    current = fitted_changes(bot, SendMessage(chat_id=1, text="hi", reply_parameters=ReplyParameters(message_id=5)))
    assert current["reply_parameters"].allow_sending_without_reply is True


# ---------------------------------------------------------------- restriction windows


def test_durations_telegram_would_read_as_forever_are_not_allowed():
    assert not restriction_allowed(parse_duration("10s"))
    assert restriction_allowed(parse_duration("30s")) and restriction_allowed(parse_duration("366d"))
    assert not restriction_allowed(parse_duration("367d"))
    huge = parse_duration("999999w999999w999999w")  # no OverflowError, simply too long
    assert huge is not None and not restriction_allowed(huge)


def test_a_restriction_ends_inside_telegrams_window_or_not_at_all():
    assert restriction_until(NOW, NOW - timedelta(hours=1)) is None  # in the past: forever
    assert restriction_until(NOW, NOW + timedelta(seconds=20)) is None  # within 30 s: forever
    short = restriction_until(NOW, NOW + timedelta(seconds=30))
    assert short is not None and timedelta(seconds=30) < short - NOW < timedelta(seconds=60)
    long = restriction_until(NOW, NOW + timedelta(days=400))
    assert long is not None and timedelta(days=365) < long - NOW < timedelta(days=366)
    assert restriction_until(NOW, NOW + timedelta(hours=2)) == NOW + timedelta(hours=2)


@pytest.mark.parametrize(
    ("toml", "where"),
    [
        ('[moderation]\ndefault_mute = "10s"\n', "[moderation].default_mute"),
        ('[moderation.filters.flood]\nmute = "400d"\n', "[moderation.filters.flood].mute"),
        ('[[moderation.ladder]]\nwarnings = 3\naction = "mute"\nduration = "999999w"\n', "[moderation.ladder.0].duration"),
        ('[moderation.groups."-100123".flood]\nmute = "5s"\n', "[moderation].groups"),
    ],
)
def test_config_mutes_outside_30s_to_366d_are_rejected_naming_the_key(tmp_path, capsys, toml, where):
    path = tmp_path / "config.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    [problem] = caught.value.problems
    assert problem.startswith(f"{path}: {where}: ") and "from 30s to 366d" in problem
    assert main(["config", "check", str(path)]) != 0
    assert "from 30s to 366d" in capsys.readouterr().err


def test_config_mutes_at_the_edges_are_accepted(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[moderation]\ndefault_mute = "30s"\n[moderation.filters.flood]\nmute = "366d"\n', encoding="utf-8")
    assert load_settings(path).moderation.default_mute == "30s"


# ---------------------------------------------------------------- button data and typed numbers


def test_a_faq_topic_id_too_long_for_button_data_is_refused_naming_file_line_and_entry(tmp_path, capsys):
    own = tmp_path / "my_faq.toml"
    long_id = "local." + "x" * 60
    own.write_text(
        f'''[[entry]]
id = "{long_id}"
keywords = {{ zh-CN = ["诊所"], en = ["clinic"] }}
questions = {{ zh-CN = ["诊所几点开门"], en = ["when does the clinic open"] }}
answer = {{ zh-CN = "8 点开门。", en = "It opens at 8." }}
''',
        encoding="utf-8",
    )
    with pytest.raises(knowledge.KnowledgeError) as caught:
        knowledge.load(own)
    [problem] = caught.value.problems
    assert problem.startswith(f"{own}:1: entry '{long_id}': id: is 66 characters; at most 60")
    assert main(["faq", "check", str(own)]) != 0
    assert f"entry '{long_id}': id:" in capsys.readouterr().err


def test_faq_ids_of_the_built_in_knowledge_fit_button_data():
    assert all(len(f"faq:{topic}".encode()) <= 64 for topic in knowledge.load())


@pytest.mark.parametrize("data", ["modundo:9223372036854775808", "modundo:-1", "modundo:0", "modundo:abc", "modundo:"])
def test_undo_data_outside_a_database_id_does_not_unpack(data):
    with pytest.raises((ValueError, TypeError)):
        ModUndoCD.unpack(data)


def test_undo_data_of_a_real_id_unpacks():
    assert ModUndoCD.unpack("modundo:9223372036854775807").action_id == 2**63 - 1


@pytest.mark.parametrize("data", ["captcha:103:6", "captcha:103:-1", f"captcha:{2**63}:0", "captcha:x:0"])
def test_captcha_data_out_of_range_does_not_unpack(data):
    with pytest.raises((ValueError, TypeError)):
        CaptchaCD.unpack(data)


def test_typed_numbers_are_ascii_digits_within_a_database_integer():
    assert parse_count("42") == 42
    assert parse_count("²") is None and parse_count("١٢") is None and parse_count("-3") is None
    assert parse_count(str(2**63)) is None and parse_count("9" * 40) is None
    assert parse_count("20", maximum=14) is None


# ---------------------------------------------------------------- permissions


def test_lifting_a_restriction_sets_every_permission_field_true():
    from aiogram.types import ChatPermissions

    assert UNRESTRICTED.model_fields_set == set(ChatPermissions.model_fields)
    assert all(getattr(UNRESTRICTED, name) is True for name in ChatPermissions.model_fields)
