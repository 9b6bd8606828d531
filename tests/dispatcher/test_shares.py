"""Shares pay their author silently: media with a caption, links and experience posts, within caps."""

from datetime import timedelta

from sqlalchemy import select

from models.tables import LedgerEntry
from tests.dispatcher.conftest import ALICE, BOB, GROUP, OTHER_GROUP

LONG_POST = (
    "分享一下我们家的睡眠经验：四个月左右开始固定睡前流程，洗澡、抚触、喂奶、讲故事，"
    "然后关灯放白噪音。刚开始会哭闹，坚持一周后宝宝基本能在二十分钟内自己睡着，夜醒也少了很多。"
    "希望对同月龄的妈妈有帮助。"
)


async def share_points(harness) -> list[tuple[str, int]]:
    async with harness.app.storage.engine.connect() as connection:
        rows = await connection.execute(
            select(LedgerEntry.note, LedgerEntry.delta).where(LedgerEntry.reason == "share").order_by(LedgerEntry.id)
        )
        return [tuple(row) for row in rows]


async def test_a_photo_with_a_caption_a_link_and_a_long_post_each_pay_silently(harness):
    await harness.feed(harness.fake.user_message(GROUP, ALICE, photo=True, caption="今天的辅食：南瓜泥"))
    await harness.say(
        GROUP, ALICE, "这篇讲得很清楚 https://zhihu.com/solids", entities=[{"type": "url", "offset": 8, "length": 23}]
    )
    await harness.say(GROUP, ALICE, LONG_POST)
    assert await share_points(harness) == [("media", 5), ("link", 5), ("post", 5)]
    assert harness.replies(GROUP) == []


async def test_chit_chat_and_photos_without_a_caption_pay_nothing(harness):
    await harness.say(GROUP, ALICE, "早上好呀")
    await harness.feed(harness.fake.user_message(GROUP, ALICE, photo=True))
    assert await share_points(harness) == []


async def test_the_daily_cap_holds_and_resets_the_next_day(harness, clock):
    for index in range(5):
        await harness.feed(harness.fake.user_message(GROUP, BOB, photo=True, caption=f"meal {index}"))
    assert len(await share_points(harness)) == 3
    clock.advance(timedelta(days=1))
    await harness.feed(harness.fake.user_message(GROUP, BOB, photo=True, caption="next day"))
    assert len(await share_points(harness)) == 4


async def test_the_same_text_again_within_a_day_earns_nothing_even_reformatted_or_by_someone_else(harness, clock):
    await harness.say(GROUP, ALICE, LONG_POST)
    await harness.say(GROUP, BOB, LONG_POST.replace("，", ", ") + " !!")
    assert len(await share_points(harness)) == 1
    clock.advance(timedelta(hours=25))
    await harness.say(GROUP, BOB, LONG_POST)
    assert len(await share_points(harness)) == 2


async def test_the_same_link_is_one_share_per_day(harness):
    for user, url in ((ALICE, "https://Zhihu.com/solids/"), (BOB, "https://zhihu.com/solids#top")):
        await harness.say(GROUP, user, f"看看 {url}", entities=[{"type": "url", "offset": 3, "length": len(url)}])
    assert len(await share_points(harness)) == 1


async def test_duplicates_are_judged_per_group(harness):
    for chat in (GROUP, OTHER_GROUP):
        await harness.say(chat, ALICE, LONG_POST)
    assert len(await share_points(harness)) == 2


async def test_a_redelivered_share_pays_once(harness):
    update = harness.fake.user_message(GROUP, ALICE, photo=True, caption="first tooth!")
    await harness.feed(update)
    harness.app.seen.forget("telegram", update["update_id"], str(harness.bot.id))
    await harness.feed(update)
    assert len(await share_points(harness)) == 1
