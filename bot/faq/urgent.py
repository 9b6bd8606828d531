"""Red flags: messages that describe an emergency happening now. Separate from the matcher, by rules.

A rule names a symptom (and, for some, an age or a second sign); it fires only when the message
describes this child or pregnancy now, not a question about the topic in general ("热性惊厥是什么",
"万一吞了电池怎么办", "纽扣电池怎么收好"). Recall matters most: a missed emergency is the worse error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from bot.faq.text import normalise

CN_NUMBERS = {"一": 1, "两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10, "半": 0.5}


def _any(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{pattern})" for pattern in patterns))


# Asking in general or about a what-if, rather than telling what is happening.
GENERAL = _any(
    r"是什么|什么是|啥是|怎么预防|如何预防|预防|万一|如果|假如|要是|会不会|怎么收|怎么放|放哪|注意什么|科普|有哪些|原因有|"
    r"是不是正常|正常吗|怎么数|怎么计数|什么时候开始|几周开始|多久开始",
    r"\bwhat (is|are|causes)\b|\bhow (do|can|to) (i |you |we )?(prevent|avoid|store|count|keep)\b|\bwhat if\b|\bif (my|a|the) |\bin case\b|"
    r"\bis it normal\b|\bif it (ever )?happens\b|\bscared of\b|\bafraid of\b",
)
# Telling what happens now, which outweighs a general-sounding word ("抽搐了 是什么原因 怎么办").
NOW = _any(
    r"正在|现在|刚才|刚刚|突然|一直|还在|怎么办|咋办|救命|急|快|马上|不停|叫不醒",
    r"\b(now|just|right now|suddenly|keeps?|won't|isn't|is not|can't|cannot|help|urgent|emergency|is having)\b",
)

SEIZURE = _any(r"抽搐|抽筋|抽风|惊厥|翻白眼|全身发抖|四肢抖|牙关紧", r"seizure|convuls|fitting|\bfit\b|twitching|eyes rolled|shaking all over")
BREATHING = _any(
    r"呼吸困难|喘不上气|喘不过气|上不来气|呼吸不过来|不能呼吸|没有呼吸|没呼吸|嘴唇发紫|嘴唇发青|嘴唇紫|脸发紫|脸色发紫|脸色发青|"
    r"全身发紫|青紫|呼吸很急|三凹|呼吸暂停",
    r"can'?t breathe|cannot breathe|not breathing|stopped breathing|struggling to breathe|trouble breathing|difficulty breathing|"
    r"blue lips|lips (are |turning |went )?blue|turning blue|gasping",
)
FEVER = _any(r"发烧|体温|烧到|烧了|高烧|[三四]十.?度|3[89](\.\d)?度?|4[01](\.\d)?度?", r"fever|temperature|temp\b|3[89](\.\d)?\s?c\b|10[0-4](\.\d)?\s?f\b")
HAZARDS = r"纽扣电池|电池|磁铁|磁珠|吸铁石|消毒液|洗衣液|洗衣凝珠|凝珠|洗洁精|清洁剂|84|洁厕|农药|漂白|酒精|干燥剂|灭鼠|老鼠药|硬币|别针|钉子"
SWALLOWED = _any(
    rf"(吞|吃|喝|咽|误食|误吞|舔)了?(下去|进去|下)?.{{0,8}}({HAZARDS})",
    rf"({HAZARDS}).{{0,6}}(吞|吃|喝|咽)(了|下|进)",
    # Medicine only when it was not given as a dose: an adult's, a handful, taken by the child.
    r"(误食|误吞|偷吃|偷偷吃|不小心吃|自己吃|吞了|吃了|喝了).{0,8}(好几|一把|一整|整瓶|一瓶|几)(颗|片|粒|瓶|板)",
    r"(降压药|安眠药|大人的药|我的药|避孕药|铁剂|药片|一瓶药|整瓶药).{0,8}(吃了|吞了|喝了|误食)",
    r"swallow(ed)?.{0,25}(batter|magnet|coin|pill|tablet|medicine|bleach|detergent|pod|cleaner)|"
    r"(drank|drunk|ate|eaten|licked).{0,20}(bleach|detergent|cleaner|pod|pills|tablets|medicine|batter)",
)
FALL = _any(r"摔|掉下|跌|磕到|撞到|滚下", r"\bfell\b|\bfall\b|fallen|dropped|hit (his|her|their) head|bumped")
AFTER_FALL = _any(r"吐|呕|嗜睡|想睡|犯困|叫不醒|没精神|昏|抽|不哭不闹|一直哭|流血|肿了个大包|鼓包", r"vomit|threw up|throwing up|sick|sleepy|drowsy|unresponsive|won't wake|seizure|bleeding")
PREGNANT = _any(r"怀孕|孕期|孕妇|孕早期|孕中期|孕晚期|孕\d+周|怀了|宝宝还在肚子|胎儿|孕|待产", r"pregnan|weeks? along|expecting|\bbump\b")
HEAVY_BLEEDING = _any(
    r"大出血|出血很多|流血很多|出了很多血|大量出血|血流不止|一直流血|出血不止|一小时.{0,6}湿透|湿透.{0,4}卫生巾|血块很大|大血块",
    r"heavy bleeding|bleeding (a lot|heavily)|lots of blood|soak(ed|ing)? (a|through a|through) pad|large clots|bleeding won'?t stop",
)
POSTPARTUM = _any(r"产后|生完|刚生|月子|剖腹产后|顺产后|恶露", r"postpartum|after (giving )?birth|since the birth|postnatal|after delivery")
NO_MOVEMENT = _any(
    r"胎动.{0,8}(没有了|没了|没感觉|感觉不到|明显减少|减少|变少|少了很多|少了好多|停了|不动|很少|消失)|(没有|没|感觉不到|一天没|半天没)(感觉到)?胎动|"
    r"宝宝(在肚子里)?(一直|一天|半天|好久)?不动了",
    r"(baby|bub)('s)? (hasn'?t|has not|isn'?t|is not|not) (been )?(moving|kicked|kicking)|no (fetal |foetal )?movement|"
    r"(fewer|less|reduced|no) (kicks|movements)|stopped moving|not felt (the baby|him|her) move",
)
SELF_HARM = _any(
    r"不想活|想死|去死|自杀|轻生|结束生命|活着没意思|活不下去|伤害自己|割腕|跳楼|跳下去|伤害宝宝|伤害孩子|伤害娃|想掐|掐死|把宝宝扔|想和宝宝一起",
    r"kill(ing)? myself|suicid|end(ing)? (my life|it all)|don'?t want to (live|be here)|hurt(ing)? myself|harm(ing)? myself|"
    r"hurt(ing)? (the|my) baby|harm(ing)? (the|my) baby|better off without me",
)
UNRESPONSIVE = _any(
    r"叫不醒|没反应|没有反应|软绵绵|瘫软|昏迷|意识不清|晕过去|晕倒|昏过去|身体发软",
    r"unresponsive|not respond|no response|won'?t wake|not waking|floppy|limp|passed out|unconscious|fainted",
)
CHOKING = _any(
    r"(噎住|卡住|卡喉|卡在喉咙|呛到|呛住|异物).{0,12}(喘|呼吸|脸.{0,3}(紫|青|红)|咳不出|哭不出|发不出声)",
    r"chok(ing|ed).{0,30}(can'?t breathe|not breathing|blue|no sound|can'?t cough|can'?t cry)",
)
BURN = _any(r"(烫伤|烧伤|烫到|开水烫).{0,12}(大面积|一大片|整个|全身|起了很多泡|很多水泡|皮掉了)|大面积(烫伤|烧伤)", r"(scald|burn)(ed|t)?.{0,25}(large|big area|whole|blister(s|ed)? all)")
LABOUR_DANGER = _any(r"(羊水|破水|流出来的水).{0,10}(绿|发绿|浑浊|发黑)|脐带.{0,6}(掉出|脱出|出来了)", r"green (waters|fluid)|waters.{0,10}green|cord (came|coming|is) out|cord prolapse")
PRE_ECLAMPSIA = _any(r"(头痛|头疼).{0,15}(看不清|模糊|眼花|眼前发黑|冒金星)|(看不清|模糊|眼花).{0,15}(头痛|头疼)", r"(headache).{0,30}(blurr|vision|seeing spots)|(blurr|vision|seeing spots).{0,30}headache")
BLOOD_VOMIT = _any(r"吐血|呕血|吐出来有血|吐的.{0,4}血", r"vomit(ing|ed)? blood|blood in (his|her|the) vomit")
JAUNDICE_DANGER = _any(r"(黄疸|很黄|发黄|皮肤黄).{0,15}(不吃奶|不肯吃奶|不吃|嗜睡|叫不醒|没精神|一直睡|软)", r"jaundice.{0,40}(not feeding|won'?t feed|sleepy|lethargic|floppy)")


@dataclass(frozen=True, slots=True)
class RedFlag:
    kind: str  # seizure, breathing, young_fever, swallowed, head_injury, bleeding, fetal_movement, self_harm, ...


def _months(text: str) -> float | None:
    """The baby's age in months, if the message says it ("才两个月", "6 weeks old", "出生10天", "新生儿")."""
    if re.search(r"新生儿|刚出生|满月|newborn", text):
        return 0.5 if "满月" not in text else 1.0
    match = re.search(r"(\d+(?:\.\d+)?|[一两二三四五六七八九十半]+)\s*(个半月|个月|月大|月龄|周|个星期|星期|天)", text)
    if match:
        raw, unit = match.groups()
        number = float(raw) if raw[0].isdigit() else sum(CN_NUMBERS.get(char, 0) for char in raw) or None
        if number is None:
            return None
        if "周" in unit or "星期" in unit:
            return number / 4.3
        if unit == "天":
            return number / 30
        return number + (0.5 if unit == "个半月" else 0)
    match = re.search(r"(\d+)\s*-?\s*(day|week|month)s?\s*-?\s*old", text)
    if match:
        number, unit = float(match.group(1)), match.group(2)
        return number / 30 if unit == "day" else number / 4.3 if unit == "week" else number
    return None


def _temperature(text: str) -> float | None:
    match = re.search(r"(3[5-9]|4[0-2])(\.\d)?", text)
    if match:
        return float(match.group(0))
    match = re.search(r"(9\d|10[0-6])(\.\d)?\s?f\b", text)
    return (float(match.group(0)[:-1].strip()) - 32) * 5 / 9 if match else None


def _weeks_pregnant(text: str) -> float:
    """Movements are felt from about 18-24 weeks; before that, none felt is not a warning sign."""
    match = re.search(r"(?:孕)?(\d{1,2})\s*(?:周|w\b|weeks)", text)
    return float(match.group(1)) if match else 40.0


@lru_cache(maxsize=1024)  # a group message is checked before and after the thanks and share handlers
def detect(text: str) -> RedFlag | None:
    """The emergency the message describes, or None."""
    norm = normalise(text)
    raw = text.lower()
    general = bool(GENERAL.search(norm)) and not NOW.search(norm)

    if SELF_HARM.search(norm) or SELF_HARM.search(raw):
        return RedFlag("self_harm")  # never wait for certainty here
    if general:
        return None
    checks = (
        ("seizure", SEIZURE.search(norm)),
        ("breathing", BREATHING.search(norm) or BREATHING.search(raw)),
        ("unresponsive", UNRESPONSIVE.search(norm) or UNRESPONSIVE.search(raw)),
        ("swallowed", SWALLOWED.search(norm) or SWALLOWED.search(raw)),
        ("choking", CHOKING.search(norm) or CHOKING.search(raw)),
        ("fetal_movement", NO_MOVEMENT.search(norm) or NO_MOVEMENT.search(raw)),
        ("labour", LABOUR_DANGER.search(norm)),
        ("blood_vomit", BLOOD_VOMIT.search(norm)),
        ("burn", BURN.search(norm) or BURN.search(raw)),
        ("jaundice", JAUNDICE_DANGER.search(norm)),
    )
    for kind, found in checks:
        if found and not (kind == "fetal_movement" and _weeks_pregnant(norm) < 24):
            return RedFlag(kind)
    if FALL.search(norm) and AFTER_FALL.search(norm) and not re.search(r"没事|没有吐|没吐|fine|ok now|normal", norm):
        return RedFlag("head_injury")
    if HEAVY_BLEEDING.search(norm) and (PREGNANT.search(norm) or POSTPARTUM.search(norm)):
        return RedFlag("bleeding")
    if (PREGNANT.search(norm) or "孕" in norm) and PRE_ECLAMPSIA.search(norm):
        return RedFlag("pre_eclampsia")
    if FEVER.search(norm):
        months = _months(norm)
        temperature = _temperature(norm)
        if months is not None and months < 3 and (temperature is None or temperature >= 38.0):
            return RedFlag("young_fever")
    return None
