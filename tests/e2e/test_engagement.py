"""Engagement through a real bot process: shares and thanks pay silently (seen in /points), the shop sells out,
and an order shows up in (and is refunded by) the `cradle orders` command line."""

import asyncio
import os
import signal
import sys

from sqlalchemy import func, select

from models.engine import make_engine
from models.tables import ContentFingerprint, DailyActivity, LedgerEntry, Membership, ShopOrder
from tests.e2e.conftest import ROOT, query, start_polling_bot, write_config

GROUP = -100555
MAMA = 6161  # writes in Chinese
LILY = 6262  # writes in English

LONG_POST = (
    "分享一下我们家的睡眠经验：四个月左右开始固定睡前流程，洗澡、抚触、喂奶、讲故事，"
    "然后关灯放白噪音。刚开始会哭闹，坚持一周后宝宝基本能在二十分钟内自己睡着，夜醒也少了很多。"
    "希望对同月龄的妈妈有帮助。"
)
STICKER = '\n[shop.items.sticker]\nname = { zh-CN = "贴纸", en = "Sticker" }\ncost = 10\nstock = 1\n'


async def wait_for_value(database_url, statement, expected, timeout=10.0):
    """Silent awards leave no bot message: wait until the database shows them (the bot writes concurrently)."""
    engine = make_engine(database_url)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        while True:
            async with engine.connect() as connection:
                value = (await connection.execute(statement)).scalar()
            if value == expected:
                return
            if loop.time() > deadline:
                raise AssertionError(f"expected {expected!r} within {timeout}s, the database has {value!r}")
            await asyncio.sleep(0.1)
    finally:
        await engine.dispose()


async def ask(fake, user_id, text, timeout=10.0) -> str:
    """Send a command to the group and return the text of the bot's reply to that very message."""
    message_id = fake.user_message(GROUP, user_id, text)["message"]["message_id"]

    def reply():
        return next(
            (
                sent["text"]
                for sent in fake.sent_messages(GROUP)
                if (sent.get("reply_to_message") or {}).get("message_id") == message_id
            ),
            None,
        )

    try:
        return await fake.wait_until(reply, timeout=timeout)
    except TimeoutError:
        sent = [m.get("text") for m in fake.sent_messages(GROUP)]
        raise AssertionError(f"no reply to {text!r} within {timeout}s; the bot sent: {sent!r}") from None


async def cradle(config, *args: str) -> str:
    """`python -m bot ARGS --config CONFIG`, as an operator runs it beside the bot; returns its output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRADLE_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, "--config", str(config),
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 30)
    text = out.decode(errors="replace")
    assert process.returncode == 0, f"cradle {' '.join(args)} exited {process.returncode}:\n{text}"
    return text


async def ledger_rows(database_url):
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(select(LedgerEntry.reason, LedgerEntry.delta, LedgerEntry.actor))
            return [tuple(row) for row in rows]
    finally:
        await engine.dispose()


async def order_rows(database_url):
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            columns = (ShopOrder.id, ShopOrder.item, ShopOrder.status, ShopOrder.handled_by)
            return [tuple(row) for row in await connection.execute(select(*columns).order_by(ShopOrder.id))]
    finally:
        await engine.dispose()


async def fetched(fake):
    """The bot has taken every update (stopping now still lets it finish them)."""
    await fake.wait_until(lambda: not fake.pending_updates, timeout=10)


def bot_texts(fake) -> list[str]:
    return [m.get("text", "") for m in fake.sent_messages(GROUP)]


async def test_shares_pay_their_author_silently_and_show_in_points(fake_server, database_url, tmp_path):
    fake, server = fake_server
    fake.add_chat(GROUP, "宝妈交流群")
    fake.add_user(MAMA, "小雨妈妈", language_code="zh-hans")
    config = write_config(tmp_path / "config.toml", token=fake.token, api_base=server.base_url, database_url=database_url)
    shares = select(func.coalesce(func.sum(LedgerEntry.delta), 0)).where(LedgerEntry.reason == "share")

    bot = await start_polling_bot(fake, config)
    try:
        fake.user_message(GROUP, MAMA, "早上好呀")  # chit-chat: nothing
        fake.user_message(GROUP, MAMA, photo=True)  # a photo without a caption: nothing
        fake.user_message(GROUP, MAMA, photo=True, caption="今天的辅食：南瓜泥")
        url = "https://zhihu.com/solids"
        fake.user_message(GROUP, MAMA, f"这篇讲得很清楚 {url}", entities=[{"type": "url", "offset": 8, "length": len(url)}])
        fake.user_message(GROUP, MAMA, LONG_POST)
        await wait_for_value(database_url, shares, 15)

        assert await ask(fake, MAMA, "/points") == "小雨妈妈，你在本群有 15 积分，排名第 1 / 1。"
        # The same post again the same day is a duplicate, and the daily cap (3) is reached anyway.
        fake.user_message(GROUP, MAMA, photo=True, caption="再来一张")
        fake.user_message(GROUP, MAMA, LONG_POST)
        await fetched(fake)
    finally:
        code = await bot.stop(signal.SIGTERM)  # finishes in-flight updates
    assert code == 0, bot.log()
    assert "Traceback" not in bot.log(), bot.log()

    assert await query(database_url, select(func.sum(DailyActivity.messages))) == 8  # every message was handled
    assert await query(database_url, select(func.count()).select_from(ContentFingerprint)) == 4  # 2 photos, link, post
    assert await query(database_url, shares) == 15
    assert await query(database_url, select(func.count()).select_from(LedgerEntry)) == 3
    # Silent: besides the /points answer, at most the first-share badge was announced.
    others = [text for text in bot_texts(fake) if "积分，排名" not in text]
    assert all("第一次分享" in text for text in others), others


async def test_a_thanks_reply_pays_the_replied_to_author(fake_server, database_url, tmp_path):
    fake, server = fake_server
    fake.add_chat(GROUP, "宝妈交流群")
    fake.add_user(MAMA, "小雨妈妈", language_code="zh-hans")
    fake.add_user(LILY, "Lily", language_code="en")
    config = write_config(tmp_path / "config.toml", token=fake.token, api_base=server.base_url, database_url=database_url)
    thanks = select(func.coalesce(func.sum(LedgerEntry.delta), 0)).where(LedgerEntry.reason == "thanks")

    bot = await start_polling_bot(fake, config)
    try:
        tip = fake.user_message(GROUP, LILY, "Rice cereal is a good first food")["message"]["message_id"]
        fake.user_message(GROUP, MAMA, "我家也是这样", reply_to=tip)  # a reply without thanks: nothing
        fake.user_message(GROUP, MAMA, "谢谢姐妹！", reply_to=tip)
        await wait_for_value(database_url, thanks, 2)
        # Mama's own membership is written behind (activity is flushed every second); wait so the rank is "of 2".
        await wait_for_value(database_url, select(func.count()).select_from(Membership), 2)

        assert await ask(fake, LILY, "/points") == "Lily, you have 2 points in this group, rank 1 of 2."
        assert await ask(fake, MAMA, "/points") == "小雨妈妈，你在本群还没有积分，发送 /checkin 开始第一次打卡吧！"
        # Thanking her own message, and the same pair again today, pay nothing.
        own = fake.user_message(GROUP, LILY, "Also try pumpkin puree")["message"]["message_id"]
        fake.user_message(GROUP, LILY, "thanks me", reply_to=own)
        fake.user_message(GROUP, MAMA, "THANKS again!", reply_to=own)
        await fetched(fake)
    finally:
        code = await bot.stop(signal.SIGTERM)
    assert code == 0, bot.log()
    assert "Traceback" not in bot.log(), bot.log()

    assert await query(database_url, select(func.sum(DailyActivity.messages))) == 8  # every message was handled
    rows = await ledger_rows(database_url)
    assert rows == [("thanks", 2, str(MAMA))]
    assert all("积分" in text or "points" in text for text in bot_texts(fake)), bot_texts(fake)  # only /points answers


async def test_redeeming_sells_out_and_an_order_cancelled_from_the_cli_is_refunded(fake_server, database_url, tmp_path):
    fake, server = fake_server
    fake.add_chat(GROUP, "宝妈交流群")
    fake.add_user(MAMA, "小雨妈妈", language_code="zh-hans")
    fake.add_user(LILY, "Lily", language_code="en")
    config = write_config(
        tmp_path / "config.toml", token=fake.token, api_base=server.base_url, database_url=database_url, extra=STICKER
    )

    bot = await start_polling_bot(fake, config)
    try:
        assert (await ask(fake, MAMA, "/checkin")).startswith("打卡成功")
        assert (await ask(fake, LILY, "/checkin")).startswith("Checked in!")
        shop = await ask(fake, MAMA, "/shop")
        assert shop.splitlines()[:2] == ["🎁 积分商城（你有 10 积分）：", "sticker：贴纸，10 积分（剩 1 份）"], shop

        bought = await ask(fake, MAMA, "/redeem sticker")
        assert bought == "兑换成功！贴纸，花费 10 积分，订单号 #1，工作人员会联系你。剩余 0 积分。"
        assert await ask(fake, LILY, "/redeem sticker") == "Sorry, that item is sold out."
        assert await ask(fake, LILY, "/shop") == "Nothing in the shop for you right now (you have 10 points)."
        assert (await ask(fake, MAMA, "/points")).startswith("小雨妈妈，你在本群有 0 积分")

        # The operator sees the order from the command line while the bot runs, and cancels it.
        listed = await cradle(config, "orders", "list")
        [order] = [line for line in listed.splitlines() if line.startswith("#")]
        assert order.startswith(f"#1\tpending\tsticker\t10\t小雨妈妈\t{GROUP}\t"), listed
        assert (await cradle(config, "orders", "cancel", "1")).strip().endswith("#1 is now cancelled; 10 points refunded")

        assert (await ask(fake, MAMA, "/points")).startswith("小雨妈妈，你在本群有 10 积分")
        # The cancelled sticker is back in stock, so the second member can have it now.
        again = await ask(fake, LILY, "/redeem sticker")
        assert again == (
            "Exchanged! Sticker for 10 points; order #2. An organiser will be in touch. You have 0 points left."
        )
    finally:
        code = await bot.stop(signal.SIGTERM)
    assert code == 0, bot.log()
    assert "Traceback" not in bot.log(), bot.log()

    # (Checked in the database rather than with a third `cradle` run: each one takes seconds to start.)
    assert await order_rows(database_url) == [(1, "sticker", "cancelled", "cli"), (2, "sticker", "pending", None)]
    assert await query(database_url, select(func.sum(LedgerEntry.delta))) == 10  # 2 check-ins - 2 sales + 1 refund

