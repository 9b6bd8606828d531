"""A leaderboard as text, shared by /top and the scheduled weekly post."""

from __future__ import annotations

from bot.i18n import Translator
from bot.points.leaderboard import Period, Standing, TopList


def render_top(top: TopList, t: Translator) -> str:
    scope = "community" if top.community else "group"
    header = t(f"top.header_{top.period.value}_{scope}")
    if top.period is Period.SEASON and top.season:
        header = f"{header} · {top.season}"
    if not top.entries:
        return f"{header}\n{t('top.empty')}"
    lines = [header] + [_line(standing, t) for standing in top.entries]
    if top.me is not None and all(standing.member != top.me.member for standing in top.entries):
        lines += ["…", t("top.me", rank=top.me.rank, points=top.me.points)]
    return "\n".join(lines)


def _line(standing: Standing, t: Translator) -> str:
    medal = {1: "🥇", 2: "🥈", 3: "🥉"}.get(standing.rank, f"{standing.rank}.")
    return t("top.line", medal=medal, name=standing.name or t("top.someone"), points=standing.points)
