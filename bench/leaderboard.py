"""/top latency at community scale: 100k members and 1M ledger rows, on SQLite or PostgreSQL.

The product goal: "/top must stay fast: p99 under 20 ms with 100k members and 1M ledger rows".

1. The database at ``--database-url`` is recreated (SQLite: the file is deleted; PostgreSQL:
   the database is dropped and created again) and migrated. Its name must contain "bench".
2. Realistic data is generated and bulk-loaded in a child process, so the bot process's
   memory figures show the bot only: 5 groups (half the members in the first), members with a
   long-tailed activity (a few very active, most occasional), 2% departed, ledger rows over the
   last 120 community days (check-ins with streak bonuses, shares, thanks, a few manual awards
   and redemptions), and the check-in, points_daily and balance rows that agree with them.
3. The whole bot is built through ``BotHarness`` with a ``ManualClock`` at "now";
   ``app.start()`` (which rebuilds the in-memory leaderboards) is timed, and RSS reported.
4. Latency is measured end to end through the Dispatcher ("/top", "/top month", "/top all",
   "/top all groups" from present members, callers weighted by activity, with "/checkin"
   interleaved), then at service level (``Leaderboard.top``, with and without its names query),
   and finally the first /top in each group after the community day turns.

The report is printed and written to bench/results/leaderboard-<dialect>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import hashlib
import io
import json
import logging
import math
import multiprocessing
import os
import platform
import pstats
import random
import re
import resource
import sqlite3
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, event, insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from bot.config import CommunitySettings, DatabaseSettings, Settings
from bot.domain import ChatRef, MemberRef, UserRef
from bot.engagement.checkin import local_day
from bot.points.leaderboard import Leaderboard, Period
from bot.testing.clock import ManualClock
from bot.testing.fake_bot_api import FakeTelegram
from bot.testing.harness import BotHarness
from models import migrate
from models.tables import Chat, Checkin, LedgerEntry, Membership, PointsDaily, UserAccount

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_P99_MS = 20.0

PLATFORM = "telegram"
TIMEZONE = "Asia/Shanghai"  # the community default; chats keep it (timezone NULL)
DAY_STARTS_AT = day_time(4, 0)  # CommunitySettings.day_starts_at default
# (chat id, title, share of the members)
GROUPS = [
    (-1001, "宝妈交流群", 0.50),
    (-1002, "新手妈妈群", 0.20),
    (-1003, "English mums", 0.15),
    (-1004, "二胎妈妈群", 0.10),
    (-1005, "备孕交流群", 0.05),
]
DAYS = 120
DEPARTED_SHARE = 0.02
FIRST_USER_ID = 6_000_000_000  # Telegram user ids are large; external ids are their decimal strings
OPERATOR = 999
CHUNK = 10_000
# Default PointsSettings: check-in 10, streak bonus {3: 2, 7: 5, 30: 10}, share 5, thanks 2.
CHECKIN_POINTS = 10
STREAK_BONUS = {3: 2, 7: 5, 30: 10}
SHARE_POINTS = 5
THANKS_POINTS = 2
MANUAL_POINTS = (5, 10, 20, 50)
FREEZE_COST = 30

QUERIES = {
    "top week": "/top",
    "top month": "/top month",
    "top all": "/top all",
    "top all groups": "/top all groups",
}
SERVICE_KINDS = {
    "top week": (Period.WEEK, False),
    "top month": (Period.MONTH, False),
    "top all": (Period.SEASON, False),
    "top all groups": (Period.SEASON, True),
}
CHECKIN_EVERY = 4  # one /checkin after every 4 /top
WARMUP = 20

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = ["小雨", "欣怡", "婷婷", "静", "丽", "敏", "晓燕", "佳", "悦", "琳", "慧", "芳", "娜", "雪", "倩", "颖", "蕾", "洁"]
ENGLISH = ["Emma", "Olivia", "Sophie", "Grace", "Chloe", "Lucy", "Amy", "Hannah", "Kate", "Laura", "Anna", "Mia"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url", required=True, help="a database whose name contains 'bench'; it is DROPPED and recreated"
    )
    parser.add_argument("--members", type=int, default=100_000, help="memberships (one user each; default 100000)")
    parser.add_argument("--ledger-rows", type=int, default=1_000_000, help="ledger entries (default 1000000)")
    parser.add_argument("--queries", type=int, default=2000, help="/top commands, the four kinds mixed evenly (default 2000)")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument(
        "--profile", type=Path, help="after measuring, profile another /top pass (to PROFILE) and leaderboard.load() (PROFILE.load)"
    )
    parser.set_defaults(run=run)


# ---------------------------------------------------------------------------------------------
# entry point


async def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING)
    url = args.database_url
    dialect = make_url(url).get_backend_name()
    check_disposable(url)
    code = environment(dialect, None)  # before anything runs: the files hashed are the ones imported
    now = datetime.now(UTC).replace(microsecond=0)

    print(f"leaderboard bench: {dialect}, {args.members} members, {args.ledger_rows} ledger rows", file=sys.stderr)
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        data = await asyncio.get_running_loop().run_in_executor(
            pool, prepare_database, url, args.members, args.ledger_rows, now.isoformat(), args.seed
        )
    now = datetime.fromisoformat(data.pop("now"))
    print(f"  data ready in {time.perf_counter() - started:.1f}s", file=sys.stderr)

    present = data.pop("present")
    report: dict[str, Any] = {
        "benchmark": "leaderboard",
        "dialect": dialect,
        "database_url": url,
        "environment": code | {"database": environment(dialect, data.get("server_version"))["database"]},
        "now": now.isoformat(),
        "members": args.members,
        "ledger_rows": args.ledger_rows,
        "queries": args.queries,
        "data": data,
    }
    report.update(await measure(url, now, present, args))
    report["target_p99_ms"] = TARGET_P99_MS
    report["p99_under_target"] = {
        kind: figures["p99"] < TARGET_P99_MS for kind, figures in report["latency_ms"].items() if kind.startswith("top")
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"leaderboard-{dialect}.json"
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(render(report))
    print(f"written to {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}")
    return 0 if all(report["p99_under_target"].values()) else 1


def check_disposable(url: str) -> None:
    database = make_url(url).database or ""
    if "bench" not in database:
        raise SystemExit(f"refusing to recreate {database!r}: the benchmark drops its database, so its name must contain 'bench'")


def environment(dialect: str, server_version: str | None) -> dict[str, Any]:
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    return {
        "commit": commit,  # other work may be in progress: the file hashes say what actually ran
        "leaderboard_py_sha1": hashlib.sha1((root / "bot/points/leaderboard.py").read_bytes()).hexdigest()[:12],
        # All SQL lives in models/, split across modules: one hash over them all, in name order.
        "models_sha1": hashlib.sha1(
            b"".join(path.read_bytes() for path in sorted((root / "models").glob("*.py")))
        ).hexdigest()[:12],
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "database": server_version if dialect == "postgresql" else f"SQLite {sqlite3.sqlite_version}",
    }


# ---------------------------------------------------------------------------------------------
# database preparation (runs in a child process)


def prepare_database(url: str, members: int, ledger_rows: int, now_iso: str, seed: int) -> dict[str, Any]:
    logging.basicConfig(level=logging.WARNING)
    now = datetime.fromisoformat(now_iso)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    asyncio.run(recreate(url))
    migrate.upgrade(url)
    timings["recreate_and_migrate"] = time.perf_counter() - started

    started = time.perf_counter()
    dataset = generate(members, ledger_rows, now, seed)
    timings["generate"] = time.perf_counter() - started

    load = asyncio.run(bulk_load(url, dataset))
    timings.update(load.pop("timings"))
    summary = {"rows": dataset.counts(), "seconds": {k: round(v, 2) for k, v in timings.items()}} | load
    summary["reasons"] = dict(dataset.reasons)
    return summary | {"now": now_iso, "present": dataset.present}


async def recreate(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    if parsed.get_backend_name() != "postgresql":
        raise SystemExit(f"unsupported database {parsed.get_backend_name()!r}")
    import asyncpg

    connection = await asyncpg.connect(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password,
        database="postgres",
    )
    try:
        name = parsed.database
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


class Dataset:
    """Rows as tuples (dicts are built per chunk while inserting), plus what the measuring side needs."""

    def __init__(self) -> None:
        self.chats: list[dict[str, Any]] = []
        self.users: list[tuple[Any, ...]] = []
        self.memberships: list[tuple[Any, ...]] = []
        self.ledger: list[tuple[Any, ...]] = []
        self.checkins: list[tuple[Any, ...]] = []
        self.daily: list[tuple[Any, ...]] = []
        self.reasons: Counter[str] = Counter()
        # (chat id, user id, activity weight, checked in today) for every present member
        self.present: list[tuple[int, int, float, bool]] = []

    def counts(self) -> dict[str, int]:
        return {
            "chat": len(self.chats),
            "user_account": len(self.users),
            "membership": len(self.memberships),
            "ledger_entry": len(self.ledger),
            "checkin": len(self.checkins),
            "points_daily": len(self.daily),
            "departed": len(self.memberships) - len(self.present),
        }


def display_name(index: int, group: int) -> str:
    if GROUPS[group][0] == -1003:
        return f"{ENGLISH[index % len(ENGLISH)]} {chr(65 + index // len(ENGLISH) % 26)}."
    surname = SURNAMES[index % len(SURNAMES)]
    given = GIVEN[index // len(SURNAMES) % len(GIVEN)]
    return f"{surname}{given}" if index % 3 else f"{given}妈妈"


def day_starts(today: date, zone: ZoneInfo) -> list[datetime]:
    """UTC start of each of the DAYS community days ending today (index DAYS - 1 is today)."""
    first = today - timedelta(days=DAYS - 1)
    return [
        datetime.combine(first + timedelta(days=index), DAY_STARTS_AT, zone).astimezone(UTC) for index in range(DAYS)
    ]


def generate(members: int, ledger_rows: int, now: datetime, seed: int) -> Dataset:
    """Deterministic for (members, ledger_rows, now, seed)."""
    rng = random.Random(seed)
    zone = ZoneInfo(TIMEZONE)
    today = local_day(now, zone, DAY_STARTS_AT)
    starts = day_starts(today, zone)
    first_day = today - timedelta(days=DAYS - 1)
    today_index = DAYS - 1
    data = Dataset()
    data.chats = [
        {"id": n + 1, "platform": PLATFORM, "external_id": str(chat_id), "title": title, "kind": "supergroup",
         "created_at": now - timedelta(days=720)}
        for n, (chat_id, title, _) in enumerate(GROUPS)
    ]  # fmt: skip

    group_of = rng.choices(range(len(GROUPS)), weights=[share for _, _, share in GROUPS], k=members)
    joined: list[datetime] = []
    left: list[datetime | None] = []
    weights: list[float] = []
    span: list[tuple[int, int]] = []  # available day indexes, inclusive
    for index in range(members):
        join_at = now - timedelta(days=rng.uniform(0.5, 540))
        left_at = None
        if rng.random() < DEPARTED_SHARE:
            left_at = now - timedelta(days=rng.uniform(0.2, 60))
            if left_at <= join_at:
                join_at = left_at - timedelta(days=rng.uniform(1, 200))
        first = max(0, (local_day(join_at, zone, DAY_STARTS_AT) - first_day).days)
        last = today_index if left_at is None else (local_day(left_at, zone, DAY_STARTS_AT) - first_day).days - 1
        joined.append(join_at)
        left.append(left_at)
        span.append((first, last))
        # Long tail: most members drop by now and then, a few take part every day.
        weights.append(min(rng.paretovariate(1.2), 60.0))

    events = _events_per_member(rng, ledger_rows, weights, span)

    users = data.users
    memberships = data.memberships
    message_ids = [0] * len(GROUPS)
    manual_ids = 0
    order_ids = 0
    for index in range(members):
        group = group_of[index]
        chat_id = GROUPS[group][0]
        user_id = FIRST_USER_ID + index * 7
        first, last = span[index]
        count = events[index]
        available = last - first + 1
        member_events: list[tuple[datetime, int, str, str | None, str, str | None, str | None]] = []
        checked_today = False
        if count and available > 0:
            checkins = min(available, round(count * 0.72))
            days = sorted(rng.sample(range(first, last + 1), checkins))
            streak, previous = 0, None
            for day in days:
                streak = streak + 1 if previous is not None and day == previous + 1 else 1
                previous = day
                at = _time_in(rng, starts, day, today_index, now)
                local = first_day + timedelta(days=day)
                key = f"checkin:{PLATFORM}:{chat_id}:{user_id}:{local.isoformat()}"
                member_events.append((at, CHECKIN_POINTS + STREAK_BONUS.get(streak, 0), "checkin", local.isoformat(), key, None, None))
                data.checkins.append((index + 1, local, streak, at))
                checked_today = checked_today or day == today_index
            for _ in range(count - checkins):
                day = rng.randint(first, last)
                at = _time_in(rng, starts, day, today_index, now)
                local = (first_day + timedelta(days=day)).isoformat()
                roll = rng.random()
                if roll < 0.54:
                    message_ids[group] += 1
                    member_events.append((at, SHARE_POINTS, "share", local, f"share:{PLATFORM}:{chat_id}:{message_ids[group]}", None, "photo"))
                elif roll < 0.95:
                    message_ids[group] += 1
                    giver = str(FIRST_USER_ID + rng.randrange(members) * 7)
                    member_events.append((at, THANKS_POINTS, "thanks", local, f"thanks:{PLATFORM}:{chat_id}:{message_ids[group]}", giver, None))
                elif roll < 0.985:
                    manual_ids += 1
                    member_events.append((at, rng.choice(MANUAL_POINTS), "manual", None, f"manual:{manual_ids}", str(OPERATOR), "活动奖励"))
                else:
                    order_ids += 1
                    member_events.append((at, -FREEZE_COST, "redeem", f"order:{order_ids}", f"redeem:{order_ids}", None, None))
        member_events.sort()
        balance = 0
        daily: dict[date, list[Any]] = {}
        for n, (at, delta, reason, reference, key, actor, note) in enumerate(member_events):
            if delta < 0 and balance + delta < 0:  # cannot afford it yet: a share instead
                message_ids[group] += 1
                delta, reason, reference, key, actor, note = (
                    SHARE_POINTS, "share", local_day(at, zone, DAY_STARTS_AT).isoformat(),
                    f"share:{PLATFORM}:{chat_id}:{message_ids[group]}", None, "photo",
                )  # fmt: skip
                member_events[n] = (at, delta, reason, reference, key, actor, note)
            balance += delta
            data.reasons[reason] += 1
            if reason not in ("redeem", "refund"):
                total = daily.setdefault(local_day(at, zone, DAY_STARTS_AT), [0, at])
                total[0] += delta
                total[1] = max(total[1], at)
        if left[index] is None:
            data.present.append((chat_id, user_id, weights[index] if count else 0.05, checked_today))
        name = display_name(index, group)
        english = GROUPS[group][0] == -1003
        users.append(
            (index + 1, PLATFORM, str(user_id), name, "en" if english else "zh-hans", f"mama{index}" if index % 5 == 0 else None,
             joined[index])
        )  # fmt: skip
        last_active = member_events[-1][0] if member_events else None
        memberships.append((index + 1, group + 1, index + 1, balance, joined[index], left[index], last_active))
        for at, delta, reason, reference, key, actor, note in member_events:
            data.ledger.append((index + 1, delta, reason, reference, key, actor, note, at))
        for day, (earned, updated_at) in daily.items():
            data.daily.append((index + 1, day, earned, updated_at))
    data.ledger.sort(key=lambda row: row[7])  # ids in time order, as a running bot writes them
    return data


def _events_per_member(rng: random.Random, total: int, weights: list[float], span: list[tuple[int, int]]) -> list[int]:
    """Split ``total`` events over members by activity × days available, at most 3 a day each."""
    capacity = [max(0, last - first + 1) * 3 for first, last in span]
    counts = [0] * len(weights)
    remaining = total
    open_members = [index for index, cap in enumerate(capacity) if cap]
    while remaining > 0 and open_members:
        draws = rng.choices(
            open_members, weights=[weights[i] * capacity[i] for i in open_members], k=remaining
        )
        for index in draws:
            if counts[index] < capacity[index]:
                counts[index] += 1
                remaining -= 1
        open_members = [index for index in open_members if counts[index] < capacity[index]]
    return counts


def _time_in(rng: random.Random, starts: list[datetime], day: int, today: int, now: datetime) -> datetime:
    length = (now - starts[day]).total_seconds() if day == today else 86_400.0
    return starts[day] + timedelta(seconds=rng.uniform(0, max(1.0, length - 1)))


async def bulk_load(url: str, data: Dataset) -> dict[str, Any]:
    engine = create_async_engine(url)
    sqlite = engine.dialect.name == "sqlite"
    timings: dict[str, float] = {}

    def dicts(columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> Iterator[list[dict[str, Any]]]:
        for offset in range(0, len(rows), CHUNK):
            yield [dict(zip(columns, row)) for row in rows[offset : offset + CHUNK]]

    tables: list[tuple[Table, tuple[str, ...] | None, list[Any]]] = [
        (Chat.__table__, None, data.chats),
        (UserAccount.__table__, ("id", "platform", "external_id", "display_name", "language", "username", "created_at"), data.users),
        (Membership.__table__, ("id", "chat_id", "user_id", "balance", "joined_at", "left_at", "last_active_at"), data.memberships),
        (LedgerEntry.__table__, ("membership_id", "delta", "reason", "reference", "idempotency_key", "actor", "note", "created_at"), data.ledger),
        (Checkin.__table__, ("membership_id", "local_date", "streak", "created_at"), data.checkins),
        (PointsDaily.__table__, ("membership_id", "local_date", "earned", "updated_at"), data.daily),
    ]  # fmt: skip
    server_version = None
    try:
        async with engine.connect() as connection:
            if sqlite:
                await connection.exec_driver_sql("PRAGMA synchronous=OFF")
            else:
                server_version = (await connection.exec_driver_sql("SHOW server_version")).scalar()
            await connection.commit()
            for table, columns, rows in tables:
                started = time.perf_counter()
                async with connection.begin():
                    if columns is None:
                        await connection.execute(insert(table), rows)
                    else:
                        for chunk in dicts(columns, rows):
                            await connection.execute(insert(table), chunk)
                timings[f"insert_{table.name}"] = time.perf_counter() - started
                print(f"  {table.name}: {len(rows)} rows in {timings[f'insert_{table.name}']:.1f}s", file=sys.stderr)
            started = time.perf_counter()
            if sqlite:
                await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            else:
                await _fix_sequences(connection)
                await connection.commit()
                # What autovacuum does shortly after a bulk load; without it the planner guesses.
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.exec_driver_sql("ANALYZE")
            timings["finish" if sqlite else "sequences_and_analyze"] = time.perf_counter() - started
            size = await _database_size(connection, url, sqlite)
    finally:
        await engine.dispose()
    timings["bulk_load_total"] = sum(v for k, v in timings.items() if k.startswith(("insert_", "finish", "sequences")))
    return {"timings": timings, "database_mb": round(size / 2**20, 1), "server_version": server_version}


async def _fix_sequences(connection: AsyncConnection) -> None:
    """Explicit ids leave PostgreSQL sequences at 1; move them past the loaded rows."""
    for table in ("chat", "user_account", "membership", "ledger_entry", "checkin"):
        await connection.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT max(id) FROM {table}), 1))"
        )


async def _database_size(connection: AsyncConnection, url: str, sqlite: bool) -> int:
    if sqlite:
        return Path(make_url(url).database or "").stat().st_size
    return int((await connection.exec_driver_sql("SELECT pg_database_size(current_database())")).scalar() or 0)


# ---------------------------------------------------------------------------------------------
# measuring (the bot's own process)


def rss_mb() -> float:
    """Current resident set size."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def summarize(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def rank(p: float) -> float:  # nearest-rank percentile
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]

    return {
        "n": len(ordered),
        "p50": round(rank(50), 2),
        "p95": round(rank(95), 2),
        "p99": round(rank(99), 2),
        "max": round(ordered[-1], 2),
        "mean": round(sum(ordered) / len(ordered), 2),
    }


class StatementTimer:
    """SQL statements by shape while ``phase`` is set: count and wall time as the event loop sees it."""

    _ONE = r"(?:\?|\$\d+(?:::\w+)?)"  # SQLite "?", asyncpg "$1::VARCHAR"
    PARAMETERS = re.compile(rf"\({_ONE}(?:, {_ONE})*\)(?:, \({_ONE}(?:, {_ONE})*\))*")

    def __init__(self, engines: Iterable[Any]) -> None:
        self.engines = list({id(engine.sync_engine): engine.sync_engine for engine in engines}.values())
        self.phase: str | None = None
        self.seen: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        for engine in self.engines:
            event.listen(engine, "before_cursor_execute", self._before)
            event.listen(engine, "after_cursor_execute", self._after)

    def close(self) -> None:
        for engine in self.engines:
            event.remove(engine, "before_cursor_execute", self._before)
            event.remove(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if self.phase is not None:
            shape = self.PARAMETERS.sub("(…)", " ".join(statement.split()))
            self.seen[self.phase][shape].append((time.perf_counter() - conn.info.pop("bench_started")) * 1000)

    def total_ms(self, phase: str) -> float:
        return round(sum(sum(times) for times in self.seen[phase].values()), 1)

    def slowest(self, phase: str, limit: int = 8) -> list[dict[str, Any]]:
        ranked = sorted(self.seen[phase].items(), key=lambda item: -sum(item[1]))[:limit]
        return [
            {"count": len(times), "mean_ms": round(sum(times) / len(times), 2), "max_ms": round(max(times), 2),
             "total_ms": round(sum(times), 1), "sql": shape[:220]}
            for shape, times in ranked
        ]  # fmt: skip


class GcWatch:
    """Collector pauses while measuring: a full collection over millions of board objects is visible."""

    def __init__(self) -> None:
        self.pauses: dict[int, list[float]] = defaultdict(list)
        self._started = 0.0

    def __enter__(self) -> GcWatch:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses[info["generation"]].append((time.perf_counter() - self._started) * 1000)

    def summary(self) -> dict[str, Any]:
        return {
            f"gen{generation}": {"count": len(pauses), "max_ms": round(max(pauses), 2), "total_ms": round(sum(pauses), 1)}
            for generation, pauses in sorted(self.pauses.items())
        }


async def measure(url: str, now: datetime, present: list[tuple[int, int, float, bool]], args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed + 1)
    clock = ManualClock(now)
    fake = FakeTelegram(clock=lambda: clock.now().timestamp())
    for chat_id, title, _ in GROUPS:
        fake.add_chat(chat_id, title)
    names = {FIRST_USER_ID + index * 7: index for index in range(args.members)}
    group_index = {chat_id: n for n, (chat_id, _, _) in enumerate(GROUPS)}

    def speaker(chat_id: int, user_id: int) -> None:
        # The fake tells the bot the same name the database holds, so the activity flush changes nothing.
        index = names[user_id]
        english = chat_id == -1003
        fake.add_user(user_id, display_name(index, group_index[chat_id]), "en" if english else "zh-hans",
                      f"mama{index}" if index % 5 == 0 else None)  # fmt: skip

    settings = Settings(
        database=DatabaseSettings(url=url),
        community=CommunitySettings(name="Bench Mamas", operators=[OPERATOR], timezone=TIMEZONE, day_starts_at=DAY_STARTS_AT),
    )
    harness = BotHarness(settings, fake=fake, clock=clock)
    gc.collect()
    started = time.perf_counter()
    gc.collect()
    full_gc_before_ms = (time.perf_counter() - started) * 1000
    rss_before = rss_mb()
    sql = StatementTimer([harness.app.storage.engine, harness.app.storage.read_engine])
    sql.phase = "start"
    started = time.perf_counter()
    await harness.app.start()
    start_seconds = time.perf_counter() - started
    sql.phase = None
    leaderboard = harness.app.leaderboard
    gc.collect()
    started = time.perf_counter()
    gc.collect()  # what a full collection costs once the boards are built (none ran while measuring, see "gc")
    full_gc_ms = (time.perf_counter() - started) * 1000
    result: dict[str, Any] = {
        "start_seconds": round(start_seconds, 2),
        "start_sql_seconds": round(sql.total_ms("start") / 1000, 2),
        "rss_mb": {
            "before_start": round(rss_before, 1),
            "after_start": round(rss_mb(), 1),
            "leaderboard_and_caches": round(rss_mb() - rss_before, 1),
            "max_rss": round(max_rss_mb(), 1),
        },
        "boards": board_sizes(leaderboard),
        "full_gc_ms": {"before_start": round(full_gc_before_ms, 1), "after_start": round(full_gc_ms, 1)},
        "gc_tracked_objects": len(gc.get_objects()),
    }
    print(f"  app.start() {start_seconds:.2f}s, RSS {rss_mb():.0f} MB", file=sys.stderr)
    try:
        callers = [(chat, user) for chat, user, _, _ in present]
        caller_weights = [weight for _, _, weight, _ in present]
        not_checked_in = [(chat, user) for chat, user, _, today in present if not today]
        rng.shuffle(not_checked_in)

        latencies: dict[str, list[float]] = defaultdict(list)
        plan = [kind for kind in QUERIES for _ in range(args.queries // len(QUERIES))]
        plan += list(QUERIES)[: args.queries - len(plan)]
        rng.shuffle(plan)
        senders = rng.choices(callers, weights=caller_weights, k=len(plan) + WARMUP)
        for chat, user in set(senders):
            speaker(chat, user)

        # Warm-up: compiled statement caches, prepared statements, the first connection of each pool.
        for n in range(WARMUP):
            chat, user = senders[len(plan) + n]
            await harness.say(chat, user, list(QUERIES.values())[n % len(QUERIES)])
        requests_before = len(fake.requests)

        checkins = 0
        sql.phase = "dispatcher"
        load_before = os.getloadavg()
        with GcWatch() as gc_watch:
            for n, kind in enumerate(plan):
                chat, user = senders[n]
                latencies[kind].append(await timed(lambda: harness.say(chat, user, QUERIES[kind])))
                if n % CHECKIN_EVERY == CHECKIN_EVERY - 1 and checkins < len(not_checked_in):
                    chat, user = not_checked_in[checkins]
                    checkins += 1
                    speaker(chat, user)
                    latencies["checkin"].append(await timed(lambda: harness.say(chat, user, "/checkin")))
        sql.phase = None
        calls = fake.requests[requests_before:]
        failed = [call for call in calls if not call.ok]
        replies = [call for call in calls if call.method == "sendMessage" and call.ok]
        result["dispatcher"] = {
            "commands": len(plan) + checkins,
            "replies": len(replies),
            "failed_api_calls": len(failed),
            "gc": gc_watch.summary(),
            "load_average": {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in os.getloadavg()]},
            "sql_ms": sql.total_ms("dispatcher"),
            "slowest_sql": sql.slowest("dispatcher"),
        }
        result["sample_replies"] = sample_replies(fake, plan, calls)

        # Service level: the same mix straight into Leaderboard.top, then without its names query.
        for label, stub_names in (("service", False), ("memory", True)):
            if stub_names:
                leaderboard._names = _no_names  # type: ignore[method-assign]
            members = rng.choices(callers, weights=caller_weights, k=len(plan))
            with GcWatch() as gc_watch:
                for (chat, user), kind in zip(members, plan, strict=True):
                    period, community = SERVICE_KINDS[kind]
                    member = MemberRef(ChatRef(PLATFORM, str(chat)), UserRef(PLATFORM, str(user)))
                    latencies[f"{label} {kind}"].append(
                        await timed(lambda: leaderboard.top(member, period, community=community))
                    )
            if stub_names:
                del leaderboard._names
            result[f"{label}_gc"] = gc_watch.summary()

        order = [*QUERIES, "checkin", *(f"service {k}" for k in QUERIES), *(f"memory {k}" for k in QUERIES)]
        result["latency_ms"] = {kind: summarize(latencies[kind]) for kind in order if latencies[kind]}
        result["departed_on_boards"] = departed_on_boards(leaderboard)

        # A season start (or a restart) rebuilds the boards while the bot keeps running.
        started = time.perf_counter()
        await leaderboard.load()
        result["reload_seconds"] = round(time.perf_counter() - started, 2)

        if args.profile:
            # A separate pass: a profiler in the measured pass would inflate every figure above.
            profiler = cProfile.Profile()
            profiler.enable()
            for n, kind in enumerate(plan):
                chat, user = senders[n]
                await harness.say(chat, user, QUERIES[kind])
            profiler.disable()
            profiler.dump_stats(args.profile)
            result["profile_top"] = profile_summary(profiler)
            profiler = cProfile.Profile()
            profiler.enable()
            await leaderboard.load()
            profiler.disable()
            profiler.dump_stats(f"{args.profile}.load")
            result["profile_load"] = profile_summary(profiler)

        # The community day turns: the first /top in each group expires a day from its windows.
        result["day_turn_ms"] = await day_turn(harness, clock, now, callers, caller_weights, rng, speaker)
        result["rss_mb"]["max_rss_end"] = round(max_rss_mb(), 1)
    finally:
        sql.close()
        await harness.app.stop()
    return result


async def _no_names(users: list[UserRef]) -> dict[Any, Any]:
    return {}


async def timed(call: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await call()
    return (time.perf_counter() - started) * 1000


def board_sizes(leaderboard: Leaderboard) -> dict[str, Any]:
    groups = {
        chat.external_id: {period.value: len(scope.boards[period]) for period in Period}
        for chat, scope in sorted(leaderboard._groups.items(), key=lambda item: item[0].external_id)
    }
    community = {period.value: len(leaderboard._community.boards[period]) for period in Period}
    return {"groups": groups, "community": community, "departed": len(leaderboard._departed)}


def departed_on_boards(leaderboard: Leaderboard) -> dict[str, int]:
    """How many departed members each group's season board still holds (what /top skips and counts)."""
    counts: dict[str, int] = {}
    for chat, scope in leaderboard._groups.items():
        board = scope.boards[Period.SEASON]
        counts[chat.external_id] = sum(1 for key in leaderboard._departed if key in board._entries)
    return dict(sorted(counts.items()))


def sample_replies(fake: FakeTelegram, plan: list[str], calls: list[Any]) -> list[str]:
    texts = [call.params.get("text", "") for call in calls if call.method == "sendMessage" and call.ok]
    return [texts[0], texts[-1]] if texts else []


async def day_turn(
    harness: BotHarness,
    clock: ManualClock,
    now: datetime,
    callers: list[tuple[int, int]],
    weights: list[float],
    rng: random.Random,
    speaker: Callable[[int, int], None],
) -> dict[str, Any]:
    """Days leave the rolling windows on the first read or points movement after the day turns.

    First turn: "/top all groups" comes first, so it expires the day in every group at once.
    Second turn: the first "/top" in each group expires that group's day.
    """
    zone = ZoneInfo(TIMEZONE)
    today = local_day(now, zone, DAY_STARTS_AT)
    by_chat: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for caller in callers:
        by_chat[caller[0]].append(caller)

    def turn(days: int) -> None:
        start = datetime.combine(today + timedelta(days=days), DAY_STARTS_AT, zone).astimezone(UTC)
        clock.set(start + timedelta(minutes=1))

    turn(1)
    chat, user = rng.choices(callers, weights=weights)[0]
    speaker(chat, user)
    community = [round(await timed(lambda: harness.say(chat, user, "/top all groups")), 2) for _ in range(2)]
    turn(2)
    first: dict[str, float] = {}
    second: dict[str, float] = {}
    for chat_id, _, _ in GROUPS:
        chat, user = rng.choice(by_chat[chat_id])
        speaker(chat, user)
        first[str(chat_id)] = round(await timed(lambda: harness.say(chat, user, "/top")), 2)
        second[str(chat_id)] = round(await timed(lambda: harness.say(chat, user, "/top")), 2)
    clock.set(now)
    return {
        "first_community_top_after_turn": community[0],
        "second_community_top": community[1],
        "first_top_after_turn": first,
        "second_top": second,
    }


def profile_summary(profiler: cProfile.Profile, limit: int = 25) -> list[str]:
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.sort_stats("tottime").print_stats(limit)
    return [line for line in stream.getvalue().splitlines() if line.strip()][: limit + 8]


# ---------------------------------------------------------------------------------------------
# report


def render(report: dict[str, Any]) -> str:
    data = report["data"]
    rows = data["rows"]
    lines = [
        f"== /top at scale: {report['dialect']} ({report['environment']['database']}, "
        f"Python {report['environment']['python']}, {report['environment']['cpus']} CPUs, commit {report['environment']['commit']}, "
        f"leaderboard.py {report['environment']['leaderboard_py_sha1']})",
        f"data      {rows['membership']} members ({rows['departed']} departed) in {rows['chat']} groups, "
        f"{rows['ledger_entry']} ledger rows, {rows['points_daily']} points_daily, {rows['checkin']} check-ins; "
        f"{data['database_mb']} MB",
        f"bulk load {data['seconds'].get('bulk_load_total', 0):.1f}s "
        f"(generate {data['seconds'].get('generate', 0):.1f}s, migrate {data['seconds'].get('recreate_and_migrate', 0):.1f}s)",
        f"start     app.start() {report['start_seconds']:.2f}s, of which {report['start_sql_seconds']:.2f}s in SQL "
        f"(leaderboard.load() again: {report['reload_seconds']:.2f}s)",
        f"gc        a full collection: {report['full_gc_ms']['before_start']:.0f} ms before start, "
        f"{report['full_gc_ms']['after_start']:.0f} ms after ({report['gc_tracked_objects']} tracked objects)",
        f"memory    RSS {report['rss_mb']['before_start']:.0f} MB -> {report['rss_mb']['after_start']:.0f} MB after start "
        f"(+{report['rss_mb']['leaderboard_and_caches']:.0f} MB), max RSS {report['rss_mb']['max_rss_end']:.0f} MB",
        "",
        f"{'latency ms':<28}{'n':>6}{'p50':>9}{'p95':>9}{'p99':>9}{'max':>9}   p99 < {TARGET_P99_MS:.0f} ms",
    ]
    sections = [("", "through the Dispatcher"), ("service ", "Leaderboard.top()"), ("memory ", "Leaderboard.top() without the names query")]
    for prefix, title in sections:
        lines.append(f"  {title}")
        for kind, figures in report["latency_ms"].items():
            if (prefix and not kind.startswith(prefix)) or (not prefix and kind.startswith(("service ", "memory "))):
                continue
            name = kind[len(prefix) :]
            verdict = ("yes" if figures["p99"] < TARGET_P99_MS else "NO") if name.startswith("top") else ""
            lines.append(
                f"    {name:<24}{figures['n']:>6}{figures['p50']:>9.2f}{figures['p95']:>9.2f}"
                f"{figures['p99']:>9.2f}{figures['max']:>9.2f}   {verdict}"
            )
    turn = report["day_turn_ms"]
    lines += [
        "",
        f"day turn  first /top all groups after 04:00: {turn['first_community_top_after_turn']:.0f} ms "
        f"(then {turn['second_community_top']:.1f}); next day,",
        "          first /top per group after 04:00: "
        + ", ".join(f"{chat} {ms:.0f}" for chat, ms in turn["first_top_after_turn"].items())
        + " ms (then " + ", ".join(f"{ms:.1f}" for ms in turn["second_top"].values()) + ")",
        f"dispatch  {report['dispatcher']['commands']} commands, {report['dispatcher']['replies']} replies, "
        f"{report['dispatcher']['failed_api_calls']} failed API calls; load average {report['dispatcher']['load_average']['before'][0]}"
        f" -> {report['dispatcher']['load_average']['after'][0]}; GC {json.dumps(report['dispatcher']['gc'])}",
        f"sql       measured Dispatcher pass: {report['dispatcher']['sql_ms']:.0f} ms in SQL; statements by total time:",
        *(f"          {q['count']:>5} x {q['mean_ms']:>6.2f} ms (max {q['max_ms']:.1f})  {q['sql'][:150]}" for q in report["dispatcher"]["slowest_sql"][:5]),
        f"boards    {json.dumps(report['boards']['community'])} community, {report['boards']['departed']} departed members",
        f"verdict   p99 < {TARGET_P99_MS:.0f} ms for every /top kind: "
        + ("yes" if all(report["p99_under_target"].values()) else "NO (" + ", ".join(k for k, ok in report["p99_under_target"].items() if not ok) + ")"),
    ]
    return "\n".join(lines)
