from collections import Counter
from datetime import UTC, datetime

from bot.domain import ChatRef, MemberRef, UserRef
from bot.engagement.thanks import Thanks, ThanksRules, normalise, says_thanks, within_caps

WORDS = [normalise(word) for word in ("谢谢", "感谢", "thank", "helpful")]


def test_thanks_words_are_found_inside_the_text():
    assert says_thanks("谢谢姐妹！", WORDS)
    assert says_thanks("太有帮助了，感谢", WORDS)
    assert says_thanks("Thank you so much", WORDS)


def test_full_width_and_upper_case_forms_count():
    assert says_thanks("ＴＨＡＮＫＳ！", WORDS)


def test_other_text_or_none_is_not_thanks():
    assert not says_thanks("我家宝宝也是", WORDS)
    assert not says_thanks("", WORDS)
    assert not says_thanks(None, WORDS)


def test_caps_count_per_giver_and_per_pair():
    chat = ChatRef("telegram", "-1")
    giver, receiver = MemberRef(chat, UserRef("telegram", "1")), MemberRef(chat, UserRef("telegram", "2"))
    thanks = Thanks(giver, receiver, datetime(2026, 11, 23, tzinfo=UTC), "k")
    rules = ThanksRules(points=2, per_giver_per_day=2, per_pair_per_day=1)
    assert within_caps(thanks, Counter(), Counter(), rules)
    assert not within_caps(thanks, Counter({giver: 1}), Counter({(giver, receiver): 1}), rules)
    assert not within_caps(thanks, Counter({giver: 2}), Counter(), rules)


def test_share_fingerprints_ignore_width_case_spacing_and_punctuation():
    from bot.engagement.shares import link_fingerprint, post_length, text_fingerprint

    assert text_fingerprint("宝宝 睡得很好！Good night.") == text_fingerprint("宝宝睡得很好!  good night")
    assert text_fingerprint("宝宝睡得很好") != text_fingerprint("宝宝睡得不好")
    assert link_fingerprint("HTTPS://Example.org/a/") == link_fingerprint("https://example.org/a#x")
    assert link_fingerprint("https://example.org/a?id=1") != link_fingerprint("https://example.org/a?id=2")
    assert post_length("一二三，四五！ ok") == 7
