"""``cradle`` command line (also ``python -m bot``)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from bot.config import ConfigError, Settings, load_settings, resolve_config_path
from bot.faq.knowledge import KnowledgeError

logger = logging.getLogger("cradle")

NO_TOKEN = (
    "No Telegram bot token: create a bot with @BotFather in Telegram (/newbot), then put the token it gives you "
    "into [telegram].token in {path} (or set CRADLE_TELEGRAM__TOKEN)."
)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _configure_logging(args.verbose)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return 2
    except KnowledgeError as exc:  # the FAQ (with an operator's own file) is checked when the app is built
        print("\n".join(exc.problems), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config", metavar="PATH", default=argparse.SUPPRESS, help="config file (default ./config.toml or $CRADLE_CONFIG)"
    )
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="debug logging")

    parser = argparse.ArgumentParser(prog="cradle", description="Cradle, the community bot for parenting groups.", parents=[common])
    commands = parser.add_subparsers(dest="command", required=True)

    config = commands.add_parser("config", help="configuration tools", parents=[common]).add_subparsers(dest="action", required=True)
    check = config.add_parser("check", help="validate a config file", parents=[common])
    check.add_argument("path", nargs="?", help="file to check (default: --config)")
    check.set_defaults(func=_config_check)

    db = commands.add_parser("db", help="database tools", parents=[common]).add_subparsers(dest="action", required=True)
    db.add_parser("upgrade", help="apply migrations up to the latest", parents=[common]).set_defaults(func=_db_upgrade)

    season = commands.add_parser("season", help="leaderboard seasons", parents=[common]).add_subparsers(
        dest="action", required=True
    )
    start = season.add_parser("start", help="archive the current standings and start a new season", parents=[common])
    start.add_argument("name", help="the new season's name, e.g. 2027-spring")
    start.set_defaults(func=_season_start)

    tiers = commands.add_parser("tiers", help="member tiers", parents=[common]).add_subparsers(dest="action", required=True)
    members = tiers.add_parser("members", help="members at a tier or above (e.g. for a product-trial list)", parents=[common])
    members.add_argument("tier", help="tier id from [tiers]")
    members.set_defaults(func=_tier_members)

    orders = commands.add_parser("orders", help="shop orders", parents=[common]).add_subparsers(dest="action", required=True)
    listing = orders.add_parser("list", help="list orders", parents=[common])
    listing.add_argument("--status", choices=["pending", "fulfilled", "cancelled", "all"], default="pending")
    listing.set_defaults(func=_orders_list)
    for action, text in (("fulfil", "mark an order as sent"), ("cancel", "cancel an order and refund its points")):
        command = orders.add_parser(action, help=text, parents=[common])
        command.add_argument("order", type=int, help="order number")
        command.set_defaults(func=_orders_close, close=action)

    schedule = commands.add_parser("schedule", help="scheduled content", parents=[common]).add_subparsers(
        dest="action", required=True
    )
    check_schedule = schedule.add_parser("check", help="validate the schedule file and its banks", parents=[common])
    check_schedule.add_argument("path", nargs="?", help="file to check (default: [schedule].file of the config)")
    check_schedule.set_defaults(func=_schedule_check)
    preview = schedule.add_parser("preview", help="what will be posted where and when", parents=[common])
    preview.add_argument("--days", type=int, default=7, help="how many days ahead (default 7)")
    preview.add_argument("--group", help="only this group (chat id)")
    preview.add_argument("--file", help="schedule file (default: [schedule].file of the config)")
    preview.set_defaults(func=_schedule_preview)

    faq = commands.add_parser("faq", help="the parenting FAQ", parents=[common]).add_subparsers(dest="action", required=True)
    match = faq.add_parser("match", help="match questions from stdin, one per line", parents=[common])
    match.add_argument("--jsonl", action="store_true", required=True, help="one JSON object per line on stdout")
    match.set_defaults(func=_faq_match)
    faq_check = faq.add_parser("check", help="check the knowledge base and an operator's own entries", parents=[common])
    faq_check.add_argument("path", nargs="?", help="your entries file (default: [faq].extra of the config)")
    faq_check.set_defaults(func=_faq_check)
    gaps = faq.add_parser("gaps", help="recent questions without a confident answer", parents=[common])
    gaps.add_argument("--limit", type=int, default=50)
    gaps.set_defaults(func=_faq_gaps)

    members_cli = commands.add_parser("members", help="group members", parents=[common]).add_subparsers(dest="action", required=True)
    inactive = members_cli.add_parser("inactive", help="members who have not written or checked in for DAYS days", parents=[common])
    inactive.add_argument("--days", type=int, default=60, help="days without a message or check-in (default 60)")
    inactive.add_argument("--group", help="only this group (chat id)")
    inactive.set_defaults(func=_members_inactive)

    run = commands.add_parser("run", help="run the bot", parents=[common])
    run.add_argument("--webhook", action="store_true", help="serve a webhook instead of long polling")
    run.set_defaults(func=_run)
    parser.set_defaults(config=None, verbose=False)
    return parser


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
    )
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)  # one line per update is too chatty
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    logging.getLogger("apscheduler.scheduler").setLevel(logging.WARNING)
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)  # a line per job run, every minute


def _config_check(args: argparse.Namespace) -> int:
    load_settings(args.path or args.config, required=True)
    print("OK")
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from models import migrate

    settings = load_settings(args.config)
    migrate.upgrade(settings.database.url)
    print(f"database is at revision {migrate.head_revision(settings.database.url)}")
    return 0


def _with_app(args: argparse.Namespace, work: Callable[[Any], Awaitable[int]]) -> int:
    """Run ``work(app)`` against the configured database, without connecting to any chat platform."""
    from bot.app import build_app
    from bot.core.errors import DomainError

    async def main() -> int:
        app = build_app(load_settings(args.config))
        try:
            return await work(app)
        except DomainError as exc:
            print(f"error: {exc.code} {exc.params}", file=sys.stderr)
            return 1
        finally:
            await app.storage.dispose()

    return asyncio.run(main())


def _season_start(args: argparse.Namespace) -> int:
    """Everything earned so far, today included, goes to the archive; the new season counts from now."""
    from scheduler.engagement import SEASON_CHECK_SECONDS

    async def work(app: Any) -> int:
        async with app.storage.unit_of_work() as uow:
            if (current := await uow.standings.current_season()) is not None and current.name == args.name:
                print(f"season {args.name!r} is already the current one", file=sys.stderr)
                return 1
            now = app.clock.now()
            archived = await uow.standings.start_season(args.name, now, app.chats.community_day(now))
            await uow.commit()
        print(f"season {args.name!r} started; {archived} standings archived (a running bot switches within {SEASON_CHECK_SECONDS} s)")
        return 0

    return _with_app(args, work)


def _tier_members(args: argparse.Namespace) -> int:
    async def work(app: Any) -> int:
        known = [tier.id for tier in app.tiers.ladder.tiers]
        if args.tier not in known:
            print(f"unknown tier {args.tier!r} (tiers: {', '.join(known)})", file=sys.stderr)
            return 2
        rows = await app.tiers.members_at_least(args.tier)
        for member, tier, info in rows:
            username = f"@{info.username}" if info.username else ""
            print(f"{member.chat.external_id}\t{member.user.external_id}\t{info.display_name}\t{username}\t{tier.id}")
        print(f"{len(rows)} members at {args.tier} or above", file=sys.stderr)
        return 0

    return _with_app(args, work)


def _orders_list(args: argparse.Namespace) -> int:
    async def work(app: Any) -> int:
        orders = await app.shop.orders(None if args.status == "all" else args.status, limit=1000)
        for order in orders:
            name = order.member_name or order.member.user.external_id
            print(f"#{order.id}\t{order.status}\t{order.item}\t{order.cost}\t{name}\t{order.member.chat.external_id}\t{order.created_at:%Y-%m-%d %H:%M}")
        if not orders:
            print(f"no {args.status} orders")
        return 0

    return _with_app(args, work)


def _orders_close(args: argparse.Namespace) -> int:
    async def work(app: Any) -> int:
        close = app.shop.fulfil if args.close == "fulfil" else app.shop.cancel
        order = await close(args.order, "cli")
        print(f"#{order.id} is now {order.status}" + (f"; {order.cost} points refunded" if order.status == "cancelled" else ""))
        return 0

    return _with_app(args, work)


def _load_schedule(path: str) -> Any:
    """The checked schedule, or None after printing one line per problem."""
    from bot.schedule_file import ScheduleError, load_schedule

    try:
        return load_schedule(path)
    except ScheduleError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        print(f"{len(exc.problems)} problem(s) in {path}", file=sys.stderr)
        return None


def _schedule_check(args: argparse.Namespace) -> int:
    path = args.path or load_settings(args.config).schedule.file
    schedule = _load_schedule(path)
    if schedule is None:
        return 2
    print(f"OK: {path}: {len(schedule.entries)} entries, {len(schedule.groups)} groups configured")
    return 0


def _schedule_preview(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from bot.content.scheduled_posts import plan
    from bot.domain import ChatRef
    from bot.members.chats import ChatDirectory
    from bot.schedule_file import PLATFORM

    settings = load_settings(args.config)
    schedule = _load_schedule(args.file or settings.schedule.file)
    if schedule is None:
        return 2
    chats = ChatDirectory(settings.community.timezone, settings.community.language)
    schedule.apply_timezones(chats)
    groups = asyncio.run(_known_groups(settings.database.url))
    if args.group:
        groups = [ChatRef(PLATFORM, str(args.group))]
    elif not groups:
        print(f"no groups in the database yet: times are in the community's timezone ({settings.community.timezone})")
    for post in plan(schedule, groups, chats, datetime.now(UTC), limit=None, days=args.days):
        entry = schedule.entry(post.entry_id)
        where = f"group {post.chat.external_id}" if post.chat else _targets(entry)
        print(f"{post.at.astimezone(post.zone):%Y-%m-%d %a %H:%M} {post.zone.key}  {where}  {post.entry_id}  {post.kind}  {_what(entry)}")
    return 0


def _targets(entry: Any) -> str:
    if entry is None or entry.targets.everyone:
        return "every group"
    parts = [f"tagged {', '.join(sorted(entry.targets.tags))}"] if entry.targets.tags else []
    parts += [f"group {chat.external_id}" for chat in sorted(entry.targets.chats, key=lambda chat: chat.external_id)]
    return " or ".join(parts)


def _what(entry: Any) -> str:
    if entry is None:
        return ""
    if entry.bank is not None:
        return f"from bank {entry.bank.name} ({len(entry.bank.items)} items, rotating)"
    text = entry.text or (entry.quiz.question if entry.quiz else entry.poll.question if entry.poll else None)
    if text:
        first = next(iter(text.values())).replace("\n", " ")
        return first[:40] + ("…" if len(first) > 40 else "")
    return ""


async def _known_groups(url: str) -> list[Any]:
    """The bot's groups, if there is a migrated database; none otherwise (a preview needs no database)."""
    from pathlib import Path

    from sqlalchemy.engine import make_url

    from models import migrate
    from models.storage import SqlStorage

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and (not parsed.database or not Path(parsed.database).exists()):
        return []
    storage = SqlStorage.from_url(url)
    try:
        if not await migrate.is_current(storage.engine):
            return []
        async with storage.unit_of_work(read_only=True) as uow:
            return await uow.schedule.groups()
    except Exception as exc:  # an unreachable server: the preview still shows the times
        print(f"(could not read groups from the database: {exc.__class__.__name__})", file=sys.stderr)
        return []
    finally:
        await storage.dispose()


def _faq_match(args: argparse.Namespace) -> int:
    """The contract other tools rely on: {"topic", "score", "answered", "urgent"} per input line."""
    import json

    from bot.faq.matcher import answered_unasked, knowledge_and_matcher
    from bot.faq.urgent import detect

    settings = load_settings(args.config)
    _, matcher = knowledge_and_matcher(settings.faq.extra or None)
    for line in sys.stdin:
        question = line.rstrip("\r\n")
        found = matcher.match(question)
        urgent = detect(question) is not None
        answered = settings.faq.passive and not urgent and answered_unasked(question, found)
        record = {"topic": found.topic, "score": found.score, "answered": bool(answered), "urgent": urgent}
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    return 0


def _faq_check(args: argparse.Namespace) -> int:
    from bot.faq import knowledge

    extra = args.path or load_settings(args.config).faq.extra or None
    topics = knowledge.load(extra)
    print(f"OK: {len(topics)} topics" + (f", including your entries from {extra}" if extra else ""))
    return 0


def _faq_gaps(args: argparse.Namespace) -> int:
    async def work(app: Any) -> int:
        for at, text, topic, score in await app.faq.unanswered(args.limit):
            print(f"{at:%Y-%m-%d %H:%M}\t{score:.2f}\t{topic or '-'}\t{text}")
        return 0

    return _with_app(args, work)


def _members_inactive(args: argparse.Namespace) -> int:
    from bot.core.announcements import display_name
    from bot.domain import ChatRef
    from bot.platforms.telegram.refs import PLATFORM

    if args.days < 1:
        print("--days must be at least 1", file=sys.stderr)
        return 2
    if args.group is not None and not args.group.lstrip("-").isdigit():
        print(f"--group must be a chat id such as -1001234567890 (got {args.group!r})", file=sys.stderr)
        return 2

    async def work(app: Any) -> int:
        group = ChatRef(PLATFORM, args.group) if args.group else None
        found = await app.cleanup.inactive(group, args.days)
        for candidate in found:
            seen = f"{candidate.last_seen:%Y-%m-%d}" if candidate.last_seen else "-"
            checkin = candidate.last_checkin.isoformat() if candidate.last_checkin else "-"
            noticed = f"{candidate.noticed_at:%Y-%m-%d}" if candidate.noticed_at else "-"
            name = display_name(candidate.info) or "-"
            print(f"{candidate.member.chat.external_id}\t{candidate.member.user.external_id}\t{name}\t{seen}\t{checkin}\t{noticed}")
        print(f"{len(found)} inactive member(s) (no message or check-in for {args.days} days); columns: group, user id, name, last seen, last check-in, reminded", file=sys.stderr)
        return 0

    return _with_app(args, work)


def _run(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    if not settings.telegram.token.get_secret_value():
        print(NO_TOKEN.format(path=resolve_config_path(args.config)), file=sys.stderr)
        return 2
    webhook = args.webhook or settings.telegram.mode == "webhook"
    return asyncio.run(_serve(settings, webhook=webhook))


async def _serve(settings: Settings, *, webhook: bool) -> int:
    from bot.app import build_app
    from bot.platforms.telegram.runner import StartupError, make_bot, run_polling, run_webhook
    from bot.schedule_file import ScheduleError
    from sqlalchemy.exc import DBAPIError

    from models import migrate
    from models.engine import make_engine

    engine = make_engine(settings.database.url)
    try:
        current = await migrate.is_current(engine)
    except Exception as exc:  # unreachable server, wrong password, a SQLite path that cannot be opened
        print(database_unreachable(settings.database.url, exc), file=sys.stderr)
        return 2
    finally:
        await engine.dispose()
    if not current:
        print("The database is not migrated to the latest schema: run `cradle db upgrade` first.", file=sys.stderr)
        return 2
    app = build_app(settings)
    bot = make_bot(settings.telegram.token.get_secret_value(), settings.telegram.api_base)
    try:
        await (run_webhook(app, bot) if webhook else run_polling(app, bot))
    except StartupError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except DBAPIError as exc:  # the database went away while starting (or running)
        logger.debug("database failure", exc_info=exc)
        print(database_unreachable(settings.database.url, exc), file=sys.stderr)
        return 1
    except ScheduleError as exc:
        print("The schedule file has errors; fix them (cradle schedule check) and start again:", file=sys.stderr)
        print("\n".join(exc.problems), file=sys.stderr)
        await bot.session.close()
        await app.storage.dispose()
        return 2
    return 0


def database_unreachable(url: str, exc: BaseException) -> str:
    """One sentence for a database the bot cannot use, naming the setting and hiding the password."""
    from sqlalchemy.engine import make_url

    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except Exception:
        shown = url.split("://", 1)[0] + "://..."
    cause: BaseException = exc
    while getattr(cause, "orig", None) is not None:  # SQLAlchemy wraps the driver's error
        cause = cause.orig  # type: ignore[assignment]
    reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0][:200]
    return (
        f"Cannot use the database at {shown} ({type(cause).__name__}: {reason}): check that it is running and "
        "reachable, and [database].url in your config (or CRADLE_DATABASE__URL)."
    )
