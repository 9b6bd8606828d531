from __future__ import annotations

import argparse
import asyncio
import sys

from bench import ads, fanout, faq, ingress, leaderboard


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Cradle benchmarks")
    commands = parser.add_subparsers(dest="benchmark", required=True)
    ingress.add_arguments(commands.add_parser("ingress", help="updates/s through the full pipeline vs bare aiogram"))
    leaderboard.add_arguments(commands.add_parser("leaderboard", help="/top latency with 100k members and 1M ledger rows"))
    faq.add_arguments(commands.add_parser("faq", help="FAQ accuracy on the labelled set, and the match CLI's speed"))
    fanout.add_arguments(commands.add_parser("fanout", help="one scheduled post to 2,000 groups within Telegram's limits"))
    ads.add_arguments(commands.add_parser("ads", help="anti-ad classifier precision/recall on the labelled set, and its speed"))
    args = parser.parse_args()
    return asyncio.run(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
