"""The FAQ knowledge base against the catalogue, the text pipeline, the matcher and the red-flag rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from bot.faq import knowledge
from bot.faq.matcher import Matcher, looks_like_question
from bot.faq.text import analyse, normalise, pinyin_pairs
from bot.faq.urgent import detect

ROOT = Path(__file__).resolve().parents[2]
SHARED_CATALOGUE = ROOT.parent / "shared" / "faq" / "topics.toml"


@pytest.fixture(scope="module")
def topics():
    return knowledge.load()


@pytest.fixture(scope="module")
def matcher(topics):
    return Matcher(topics)


def test_every_catalogue_topic_has_an_entry_in_both_languages(topics):
    catalogue = tomllib.loads((SHARED_CATALOGUE if SHARED_CATALOGUE.exists() else knowledge.DATA / "topics.toml").read_text(encoding="utf-8"))
    ids = [topic["id"] for topic in catalogue["topic"]]
    assert len(ids) == 52
    assert set(ids) <= set(topics)
    for topic_id in ids:
        topic = topics[topic_id]
        assert set(topic.title) == {"zh-CN", "en"}
        assert all(topic.questions[language] for language in ("zh-CN", "en")), topic_id
        if topic.live:
            continue
        assert topic.answer["zh-CN"] and topic.answer["en"], topic_id
        assert len(topic.answer["zh-CN"]) <= 700, topic_id
        assert topic.source.get("zh-CN") and topic.source.get("en"), f"{topic_id}: a source line in both languages"


def test_the_packaged_catalogue_is_the_shared_one():
    if not SHARED_CATALOGUE.exists():
        pytest.skip("../shared is not beside this checkout")
    assert (knowledge.DATA / "topics.toml").read_text(encoding="utf-8") == SHARED_CATALOGUE.read_text(encoding="utf-8")


def test_normalising_folds_width_traditional_characters_case_and_emoji():
    assert normalise("寶寶發燒３８．５度怎麼辦？？😭 ＶＤ") == "宝宝发烧38.5度怎么办 vd"


def test_synonyms_and_homophone_typos_meet_the_same_words():
    assert "宝宝" in analyse("娃发热了") and "发烧" in analyse("娃发热了")
    assert "~fu_shi" in set(pinyin_pairs("加付食")) & set(pinyin_pairs("加辅食"))


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("宝宝几个月可以加辅食", "feeding.solids_start"),
        ("娃发烧38度5要不要去医院", "health.fever"),
        ("寶寶黃疸一直不退怎麼辦", "health.jaundice"),
        ("my baby has a red rash in the nappy area", "health.diaper_rash"),
        ("积分可以换什么", "community.points"),
        ("群里可以发广告吗", "community.rules"),
    ],
)
def test_typical_questions_find_their_topic(matcher, question, topic):
    found = matcher.match(question)
    assert found.topic == topic
    assert found.score > 0.4


@pytest.mark.parametrize("message", ["早上好呀姐妹们", "哈哈哈哈哈", "今天天气真好", "anyone up?", "加V领取免费纸尿裤"])
def test_chit_chat_is_not_answered(matcher, message):
    assert not (matcher.match(message).confident and looks_like_question(message))


def test_a_stage_breaks_a_near_tie(matcher):
    text = "宝宝吃奶"
    plain = matcher.match(text)
    assert plain.topic is not None
    assert matcher.match(text, "pregnant_late").topic is not None


@pytest.mark.parametrize(
    "message",
    [
        "宝宝突然抽搐了 眼睛往上翻 怎么办",
        "孩子喘不上气嘴唇发紫",
        "我家宝宝才6周，体温38.3",
        "新生儿发烧了怎么办",
        "娃把纽扣电池吞下去了",
        "孩子喝了一口84消毒液",
        "从床上摔下来后一直吐，还想睡觉",
        "孕32周，今天一天都没感觉到胎动",
        "怀孕8周突然大出血",
        "我真的不想活了",
        "my 5 week old has a temperature of 38.4",
        "baby is not breathing properly and lips are blue",
        "my toddler swallowed a button battery",
        "I keep thinking about ending it all",
    ],
)
def test_emergencies_are_flagged(message):
    assert detect(message) is not None


@pytest.mark.parametrize(
    "message",
    [
        "一岁半发烧38.5要吃退烧药吗",
        "热性惊厥是什么",
        "纽扣电池怎么收好，怕娃误吞",
        "胎动一般几周开始",
        "宝宝昨天从沙发摔下来，今天活蹦乱跳，没事吧",
        "万一宝宝抽搐了该怎么处理",
        "how do I count baby kicks",
        "my 2 year old has a mild fever of 37.8",
        "吃了退烧药两个小时还没退烧正常吗",
    ],
)
def test_ordinary_questions_about_the_same_things_are_not(message):
    assert detect(message) is None


def test_the_match_cli_keeps_its_contract():
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRADLE_")}
    questions = "宝宝几个月可以加辅食？\n早上好\n宝宝抽搐了怎么办\n\n"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "faq", "match", "--jsonl"],
        input=questions, capture_output=True, text=True, cwd=ROOT, env=env, timeout=60, check=True,
    )
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 4
    for line in lines:
        assert set(line) == {"topic", "score", "answered", "urgent"}
        assert isinstance(line["score"], float) and isinstance(line["answered"], bool) and isinstance(line["urgent"], bool)
    assert lines[0]["topic"] == "feeding.solids_start" and lines[0]["answered"] and not lines[0]["urgent"]
    assert not lines[1]["answered"]
    assert lines[2]["urgent"] and not lines[2]["answered"]
    assert lines[3] == {"topic": None, "score": 0.0, "answered": False, "urgent": False}


def test_an_operators_entry_overrides_and_adds(tmp_path):
    own = tmp_path / "my_faq.toml"
    own.write_text(
        """
[[entry]]
id = "feeding.water"
answer = { zh-CN = "本群的儿科医生建议：6 个月前不用额外喝水。", en = "Our paediatrician: no extra water before 6 months." }

[[entry]]
id = "local.clinic"
stages = []
keywords = { zh-CN = ["社区医院", "疫苗门诊"], en = ["clinic"] }
questions.zh-CN = ["社区医院几点开门", "疫苗门诊在哪"]
questions.en = ["when does the clinic open"]
answer = { zh-CN = "社区医院 8:00 开门。", en = "The clinic opens at 8:00." }
source = { zh-CN = "本群整理", en = "This group" }
""",
        encoding="utf-8",
    )
    topics = knowledge.load(own)
    assert topics["feeding.water"].answer["en"].startswith("Our paediatrician")
    assert topics["feeding.water"].questions  # the built-in phrasings stay
    assert Matcher(topics).match("社区医院几点开门").topic == "local.clinic"


def test_a_bad_operator_file_is_refused_with_the_entry_and_field(tmp_path):
    own = tmp_path / "my_faq.toml"
    own.write_text('[[entry]]\nid = "local.x"\nstages = ["teen"]\n', encoding="utf-8")
    with pytest.raises(knowledge.KnowledgeError) as caught:
        knowledge.load(own)
    text = "\n".join(caught.value.problems)
    assert f"{own}:1: entry 'local.x': stages: unknown stage 'teen'" in text
    assert "entry 'local.x': questions: needs phrasings in zh-CN and en" in text
    assert "entry 'local.x': answer: needs a zh-CN answer" in text
