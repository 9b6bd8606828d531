"""Text as the FAQ matcher sees it: normalised, segmented, with synonyms folded and pinyin added.

- Width and compatibility forms fold with NFKC (full-width ３８．５ is 38.5), traditional characters
  become simplified (OpenCC), case folds, emoji and punctuation become spaces.
- Chinese is segmented by jieba with a parenting dictionary (辅食, 黄疸, 肠绞痛 ...); English words
  are lightly stemmed.
- Synonyms fold to one token (娃 = 宝宝, 发热 = 发烧, VD = 维生素D ...).
- Each Chinese token also gives its toneless pinyin, so a homophone typo (付食 for 辅食, 黄胆 for
  黄疸) still meets the right word.
"""

from __future__ import annotations

import logging
import re
import tomllib
import unicodedata
from functools import lru_cache
from pathlib import Path

import jieba
import opencc
import snowballstemmer
from pypinyin.pinyin_dict import pinyin_dict

DATA = Path(__file__).parent
_HAN = re.compile(r"[\u4e00-\u9fff]")
_NUMBER_DOT = re.compile(r"(?<=\d)[.,](?=\d)")
_ENGLISH = re.compile(r"[a-z][a-z']*")

# jieba's own 349,000-word dictionary takes 1.4 s to load even from its cache; its 60,000 most
# frequent words (jieba_words.txt, cut from jieba 0.42.1's dict.txt by frequency) load in 0.2 s
# and segment parents' questions the same, with the parenting dictionary on top.
WORDS = DATA / "jieba_words.txt"
_converter = opencc.OpenCC("t2s")
_stemmer = snowballstemmer.stemmer("english")
_segmenter = jieba.Tokenizer(str(WORDS))
jieba.setLogLevel(logging.WARNING)


def _load_dictionary() -> None:
    words = [line.split()[0] for line in (DATA / "dictionary.txt").read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]
    for word in words:
        _segmenter.add_word(word.lower(), freq=200_000)  # text is lower-cased before segmenting: 维D -> 维d


def _load_synonyms() -> dict[str, str]:
    table = tomllib.loads((DATA / "synonyms.toml").read_text(encoding="utf-8"))
    canonical: dict[str, str] = {}
    for head, variants in table["synonyms"].items():
        for variant in [head, *variants]:
            canonical[variant.lower()] = head.lower()
    return canonical


_load_dictionary()
SYNONYMS = _load_synonyms()
for _word in SYNONYMS:
    if _HAN.search(_word):
        _segmenter.add_word(_word, freq=200_000)

STOPWORDS = frozenset(
    """的 了 吗 呢 啊 吧 呀 哦 嘛 哈 么 是 我 我们 你 你们 她 他 它 这 那 这个 那个 就 都 也 还 在 有 和 跟 与 或 又 很 太
    好 会 能 要 想 让 给 被 把 对 一个 一下 一点 什么 怎么 怎么办 怎样 如何 为什么 咋 咋办 吗 请问 大家 姐妹 姐妹们 宝妈 妈妈们
    问 问下 请教 求 求助 谢谢 可以 应该 需要 现在 今天 最近 一直 总是 老是 有点 比较 正常 不 没 没有 家 我家 俺家
    the a an is are am be was were do does did i my me we our you your it its this that these those to of in on at for with
    and or but if can could should would will how what when why which who whom much many any some there here so just
    please help anyone ok has have had get got my im i'm it's dont don't does
    个 月 岁 周 天 几个 几个月 多大 大 用 能用 month year week day old age""".split()
)


# Punctuation, symbols, emoji and spaces (\w covers letters of every script and digits), except a
# decimal point: 38.5 stays one token.
_NOT_WORD = re.compile(r"(?:[^\w.]|_|(?<!\d)\.|\.(?!\d))+")


def normalise(text: str) -> str:
    """Folded width, simplified characters, lower case; emoji and punctuation as spaces (38.5 kept)."""
    text = _converter.convert(unicodedata.normalize("NFKC", text)).lower()
    return _NOT_WORD.sub(" ", _NUMBER_DOT.sub(".", text)).strip()


_BRITISH = ((re.compile(r"is(e|ed|es|ing|ation)$"), r"iz\1"), (re.compile(r"our$"), "or"), (re.compile(r"ae"), "e"))


@lru_cache(maxsize=65_536)
def _stem(word: str) -> str:
    """British spellings fold to American (sterilise, colour, paediatric), then the Snowball stem."""
    for pattern, replacement in _BRITISH:
        word = pattern.sub(replacement, word)
    return _stemmer.stemWord(word)


@lru_cache(maxsize=65_536)
def _syllable(char: str) -> str:
    """A character's first reading, without tones (homophone typos share it; context is not needed)."""
    readings = pinyin_dict.get(ord(char))
    if not readings:
        return char
    first = unicodedata.normalize("NFD", readings.split(",")[0])
    return "".join(c for c in first if not unicodedata.combining(c)).replace("ü", "v")


def _pinyin_pairs(run: str) -> tuple[str, ...]:
    """Toneless pinyin of neighbouring characters: 加付食 gives ~jia_fu ~fu_shi, as 辅食 gives ~fu_shi."""
    syllables = [_syllable(char) for char in run]
    return tuple(f"~{a}_{b}" for a, b in zip(syllables, syllables[1:]))


@lru_cache(maxsize=4096)
def _content(text: str) -> tuple[tuple[str, str], ...]:
    """(surface, folded) for each content word of a normalised text."""
    found = []
    for piece in _segmenter.lcut(text, HMM=False):  # new-word guessing costs half the time and helps no match
        surface = piece.strip()
        if not surface:
            continue
        if _ENGLISH.fullmatch(surface):
            folded = SYNONYMS.get(surface) or SYNONYMS.get(_stem(surface)) or _stem(surface)
        else:
            folded = SYNONYMS.get(surface, surface)
        # Ages and counts ("18 个月", "3 weeks") say little about the topic; a temperature (38.5) does.
        if folded in STOPWORDS or surface in STOPWORDS or folded.isdigit() or (len(folded) == 1 and not _HAN.search(folded)):
            continue
        found.append((surface, folded))
    return tuple(found)


def pinyin_pairs(text: str) -> list[str]:
    """Pinyin of neighbouring characters of the content words, as written: 加付食 gives ~jia_fu ~fu_shi,
    as 加辅食 does, so a homophone typo still meets the word (matched apart, with less weight)."""
    joined = "".join(surface for surface, _ in _content(text) if _HAN.search(surface))
    return list(_pinyin_pairs(joined)) if joined else []


def content_text(text: str) -> str:
    """The content words of a normalised text as written, space-separated (for fuzzy comparison)."""
    return " ".join(surface for surface, _ in _content(text))


def tokens(text: str) -> list[str]:
    """Content words of a normalised text (synonyms folded)."""
    return [folded for _, folded in _content(text)]


def analyse(text: str) -> list[str]:
    return tokens(normalise(text))


def is_chinese(text: str) -> bool:
    han = len(_HAN.findall(text))
    return han > 0 and han >= len(_ENGLISH.findall(text.lower()))


# English variants also match by their stem ("vaccinated" -> "vaccin" -> 疫苗).
for _variant, _head in list(SYNONYMS.items()):
    if _ENGLISH.fullmatch(_variant):
        SYNONYMS.setdefault(_stem(_variant), _head)
