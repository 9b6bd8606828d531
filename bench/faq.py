"""FAQ matcher evaluation on the labelled set in tests/data/faq_eval.jsonl, and the CLI contract's speed.

Prints, per the goals: in-scope top-1 accuracy (>= 90%), the share of chit-chat and ads that passive
group mode would answer (<= 5%), urgent recall (100%) and urgent false positives (<= 2%), with the
misses listed; then `python -m bot faq match --jsonl` start-up time (< 3 s) and questions per second
(>= 1,000), measured on one run: launch to the first answer, then answers per second up to the last.
The labelled set was written apart from the knowledge base's own phrasings.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "faq_eval.jsonl"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--questions", type=int, default=1000, help="questions piped through the CLI for the speed figure")
    parser.add_argument("--verbose", action="store_true", help="list every miss")
    parser.set_defaults(run=run)


def evaluate(rows: list[dict[str, Any]]) -> dict[str, Any]:
    from bot.faq import knowledge
    from bot.faq.matcher import Matcher, answered_unasked
    from bot.faq.urgent import detect

    matcher = Matcher(knowledge.load())
    counts: Counter[str] = Counter()
    misses: dict[str, list[str]] = {"top1": [], "chitchat_answered": [], "urgent_missed": [], "urgent_false": []}
    for row in rows:
        text, kind = row["text"], row["kind"]
        found = matcher.match(text)
        urgent = detect(text) is not None
        answered = not urgent and answered_unasked(text, found)
        counts[kind] += 1
        if kind == "in_scope":
            correct = found.topic == row["topic"]
            counts["top1"] += correct
            counts["in_scope_answered"] += answered
            counts["in_scope_answered_wrong"] += answered and not correct
            if not correct:
                misses["top1"].append(f"{text}  -> {found.topic} ({found.score:.2f}), expected {row['topic']}")
        if kind in ("chitchat", "ad"):
            counts["noise"] += 1
            counts["noise_answered"] += answered
            if answered:
                misses["chitchat_answered"].append(f"{text}  -> {found.topic} ({found.score:.2f})")
        if kind == "urgent":
            counts["urgent_found"] += urgent
            if not urgent:
                misses["urgent_missed"].append(text)
        else:
            counts["not_urgent"] += 1
            counts["urgent_false"] += urgent
            if urgent:
                misses["urgent_false"].append(f"[{kind}] {text}")
    ratio = lambda a, b: round(counts[a] / counts[b], 4) if counts[b] else None  # noqa: E731
    return {
        "rows": len(rows),
        "in_scope": counts["in_scope"],
        "top1_accuracy": ratio("top1", "in_scope"),
        "in_scope_answered_in_groups": ratio("in_scope_answered", "in_scope"),
        "wrong_answers_in_groups": ratio("in_scope_answered_wrong", "in_scope_answered"),
        "chitchat_and_ads": counts["noise"],
        "chitchat_answer_rate": ratio("noise_answered", "noise"),
        "urgent": counts["urgent"],
        "urgent_recall": ratio("urgent_found", "urgent"),
        "urgent_false_positive_rate": ratio("urgent_false", "not_urgent"),
        "misses": misses,
    }


def cli_speed(rows: list[dict[str, Any]], questions: int) -> dict[str, float]:
    """Start-up: launch to the first answer. Speed: answers per second from the first to the last."""
    texts = [row["text"] for row in rows]
    # A number on each makes every line distinct, so no cache flatters the figure (numbers are not matched).
    batch = "".join(f"{texts[n % len(texts)]} {n}\n" for n in range(questions))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRADLE_")}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "faq", "match", "--jsonl"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env,
    )
    assert process.stdin is not None and process.stdout is not None
    stdin = process.stdin

    def feed() -> None:  # from a thread: the answers must be read while the questions are still going in
        stdin.write(batch)
        stdin.close()

    writer = threading.Thread(target=feed)
    writer.start()
    first = process.stdout.readline()
    first_at = time.perf_counter()
    json.loads(first)
    rest = process.stdout.readlines()
    last_at = time.perf_counter()
    process.wait(timeout=60)
    writer.join()
    assert len(rest) + 1 == questions, f"{len(rest) + 1} answers for {questions} questions"
    return {
        "startup_s": round(first_at - started, 3),
        "questions": questions,
        "questions_per_s": round((questions - 1) / max(last_at - first_at, 1e-9)),
    }


async def run(args: argparse.Namespace) -> int:
    rows = [json.loads(line) for line in args.data.read_text(encoding="utf-8").splitlines() if line.strip()]
    report = evaluate(rows)
    misses = report.pop("misses")
    report.update(cli_speed(rows, args.questions))
    print(json.dumps(report, indent=2, ensure_ascii=False))
    for name, items in misses.items():
        if items:
            print(f"\n{name}: {len(items)}")
            for item in items if args.verbose else items[:15]:
                print(f"  {item}")
    goals = (
        (report["top1_accuracy"] or 0) >= 0.90,
        (report["chitchat_answer_rate"] or 0) <= 0.05,
        report["urgent_recall"] == 1.0,
        (report["urgent_false_positive_rate"] or 0) <= 0.02,
        report["startup_s"] < 3.0,
        report["questions_per_s"] >= 1000,
    )
    print("\ngoals met" if all(goals) else f"\ngoals NOT met: {goals}")
    return 0 if all(goals) else 1
