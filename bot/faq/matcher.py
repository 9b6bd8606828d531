"""Which topic a question is about, how sure we are, and whether a group should hear the answer.

Every phrasing, title and keyword list of every topic is a document in one BM25 index (bm25s) over
the tokens of ``bot.faq.text``. A topic scores as its best document, plus a fuzzy (rapidfuzz)
comparison with its phrasings for what tokens miss. "Confident" needs a clear winner that explains
most of the question's words; a profile stage may break a near tie.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np
from rapidfuzz import fuzz, process

from bot.faq import knowledge
from bot.faq.knowledge import Topic
from bot.faq.text import content_text, normalise, pinyin_pairs, tokens

logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets itself to DEBUG on import

# Set with bench/faq.py: in-scope questions answered against chit-chat and ads answered.
CONFIDENT_SCORE = 0.55
TIE_MARGIN = 0.05  # within this, the member's stage may pick between the two best topics
KEYWORD_WEIGHT = 0.5
SOUND_WEIGHT = 0.3  # pinyin pairs only back the words up (a typo), they never lead
FUZZY_CANDIDATES = 3  # topics whose phrasings are compared character by character
FUZZY_WEIGHT = 0.25
FUZZY_FLOOR = 0.6

_QUESTION = re.compile(
    r"[?？]|吗|呢$|怎么|怎样|咋|如何|为什么|为啥|啥|什么|多少|多久|几[个天次岁月周点]|能不能|可不可以|可以.*吗|要不要|该不该|是不是|"
    r"有没有|会不会|需不需要|正常吗|好不好|行不行|求助|请教|求问|请问|问下|问一下|help|^(how|what|when|why|where|which|who|"
    r"should|can|could|is|are|do|does|did|will|would|any ?one|has anyone|tips)\b",
    re.IGNORECASE,
)


class _Scores:
    """A BM25 index (bm25s computes the weights) kept as a dense documents x words matrix: a query's
    scores are one column sum, several times faster than bm25s's per-query sparse accumulation."""

    def __init__(self, documents: list[list[str]], *, b: float = 0.75) -> None:
        index = bm25s.BM25(k1=1.2, b=b)
        index.index(documents, show_progress=False)
        self.vocabulary: dict[str, int] = index.vocab_dict
        weights = index.scores
        matrix = np.zeros((len(self.vocabulary), weights["num_docs"]), dtype=np.float32)
        for word in range(len(weights["indptr"]) - 1):
            start, end = weights["indptr"][word], weights["indptr"][word + 1]
            matrix[word, weights["indices"][start:end]] = weights["data"][start:end]
        self._matrix = matrix
        self.size = weights["num_docs"]

    def __call__(self, words: list[str]) -> np.ndarray:
        ids = [self.vocabulary[word] for word in words if word in self.vocabulary]
        if not ids:
            return np.zeros(self.size, dtype=np.float32)
        return self._matrix[ids].sum(axis=0)


@dataclass(frozen=True, slots=True)
class Match:
    topic: str | None
    score: float  # 0..1
    confident: bool
    alternatives: tuple[str, ...] = ()  # the next best topics, for "did you mean"


def looks_like_question(text: str) -> bool:
    return bool(_QUESTION.search(normalise(text))) or "?" in text or "？" in text


def answered_unasked(text: str, found: Match) -> bool:
    """Whether a group hears the answer without /ask: a question, matched with confidence."""
    return found.confident and found.topic is not None and looks_like_question(text)


class Matcher:
    def __init__(self, topics: Mapping[str, Topic]) -> None:
        self.topic_ids: list[str] = []
        documents: list[list[str]] = []
        sounds: list[list[str]] = []  # pinyin pairs, a second index: homophone typos
        keywords: list[list[str]] = []  # one per topic
        owners: list[int] = []
        self._topic_texts: list[list[str]] = []  # each topic's phrasings' content words, for the fuzzy comparison
        self._vocabulary: list[set[str]] = []
        for index, topic in enumerate(topics.values()):
            self.topic_ids.append(topic.id)
            vocabulary: set[str] = set()
            texts: list[str] = []
            for text in [*topic.title.values(), *(q for qs in topic.questions.values() for q in qs)]:
                normalised = normalise(text)
                texts.append(content_text(normalised))
                documents.append(tokens(normalised))
                sounds.append(pinyin_pairs(normalised))
                owners.append(index)
                vocabulary.update(documents[-1])
            # The keywords make one more document per topic, scored on top of the best phrasing:
            # a question naming the topic's own terms leans to it even when it shares a rarer
            # modifier with another topic ("黄疸一直不退" is jaundice, not "烧不退").
            terms = [token for word in (w for words in topic.keywords.values() for w in words) for token in tokens(normalise(word))]
            keywords.append(terms)
            vocabulary.update(terms)
            self._vocabulary.append(vocabulary)
            self._topic_texts.append(texts)
        self._owners = np.array(owners)
        # Documents are laid out topic by topic: a topic's best is one reduceat over its slice.
        self._starts = np.searchsorted(self._owners, np.arange(len(self.topic_ids)))
        self._stages = [topic.stages for topic in topics.values()]
        self._words = _Scores(documents)
        self._sounds = _Scores(sounds)
        self._keywords = _Scores(keywords, b=0.3)  # keyword lists differ in length for no reason
        self._best_possible = self._self_scores(documents)

    def _self_scores(self, documents: list[list[str]]) -> float:
        """A typical score of a phrasing against itself: the scale a confident match reaches."""
        sample = documents[:: max(1, len(documents) // 200)]
        scores = [float(self._words(document).max()) for document in sample if document]
        return float(np.median(scores)) if scores else 1.0

    def match(self, text: str, stage: str | None = None) -> Match:
        query = normalise(text)
        words = tokens(query)
        if not words:
            return Match(None, 0.0, False)
        scores = self._words(words) + SOUND_WEIGHT * self._sounds(pinyin_pairs(query))
        per_topic = np.maximum.reduceat(scores, self._starts) + KEYWORD_WEIGHT * self._keywords(words)
        # Fuzzy, for typos and word order the tokens miss: the closest phrasing of the likeliest topics.
        fuzzy = np.zeros(len(self.topic_ids))
        content = content_text(query)
        for owner in np.argpartition(-per_topic, FUZZY_CANDIDATES)[:FUZZY_CANDIDATES]:
            best = process.extractOne(content, self._topic_texts[owner], scorer=fuzz.token_set_ratio)
            fuzzy[owner] = best[1] / 100 if best else 0.0
        # Fuzzy similarity counts only when close (a typo, a reordering), not for a shared character or two.
        fuzzy[fuzzy < FUZZY_FLOOR] = 0.0
        combined = (1 - FUZZY_WEIGHT) * np.minimum(per_topic / self._best_possible, 1.0) + FUZZY_WEIGHT * fuzzy
        order = np.argsort(-combined)
        best, second = int(order[0]), int(order[1]) if len(order) > 1 else int(order[0])
        if stage and combined[best] - combined[second] < TIE_MARGIN and stage in self._stages[second] and stage not in self._stages[best]:
            best, second = second, best
        coverage = sum(1 for word in words if word in self._vocabulary[best]) / len(words)
        score = float(combined[best]) * (0.5 + 0.5 * coverage)
        margin = float(combined[best] - combined[second])
        confident = score >= CONFIDENT_SCORE and margin >= 0.02
        alternatives = tuple(self.topic_ids[int(i)] for i in order[1:3] if combined[int(i)] > 0.2)
        return Match(self.topic_ids[best] if combined[best] > 0 else None, round(score, 4), confident, alternatives)

@lru_cache(maxsize=4)
def _built(extra: str | None, stamp: float | None) -> tuple[Mapping[str, Topic], Matcher]:
    topics = knowledge.load(extra)
    return topics, Matcher(topics)


def knowledge_and_matcher(extra: str | None) -> tuple[Mapping[str, Topic], Matcher]:
    """The knowledge base and its index, built once per process for the same files (about 1 s; the
    index is read-only, so every app in a process, tests included, can share it)."""
    stamp = Path(extra).stat().st_mtime if extra and Path(extra).exists() else None
    return _built(extra, stamp)
