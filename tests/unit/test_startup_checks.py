"""Start-up safety: the webhook is never open, and what cannot work is one clear sentence, not a traceback."""

from __future__ import annotations

import pytest

from bot.cli import main
from models import migrate

GOOD_SECRET = "Abc_123-xyz"


def run_cli(tmp_path, config_text: str, *args: str) -> int:
    config = tmp_path / "config.toml"
    config.write_text(config_text, encoding="utf-8")
    return main([*args, "--config", str(config)])


@pytest.fixture(autouse=True)
def no_cradle_environment(monkeypatch):
    import os

    for name in [name for name in os.environ if name.startswith("CRADLE_") and "__" in name]:
        monkeypatch.delenv(name)


def test_config_check_refuses_webhook_mode_without_a_secret(tmp_path, capsys):
    code = run_cli(tmp_path, '[telegram]\nmode = "webhook"\n[telegram.webhook]\nurl = "https://bot.example.com/hook"\n', "config", "check")
    err = capsys.readouterr().err
    assert code != 0
    assert "[telegram.webhook].secret: required in webhook mode" in err and "CRADLE_TELEGRAM__WEBHOOK__SECRET" in err


@pytest.mark.parametrize("secret", ["has space", "ünïcode", "semi;colon", "x" * 257])
def test_config_check_refuses_a_secret_telegram_would_not_accept_without_printing_it(tmp_path, capsys, secret):
    code = run_cli(tmp_path, f'[telegram.webhook]\nsecret = "{secret}"\n', "config", "check")
    err = capsys.readouterr().err
    assert code != 0
    assert "[telegram.webhook].secret: Telegram accepts 1-256 characters of A-Z, a-z, 0-9, _ and -" in err
    assert secret not in err


def test_config_check_accepts_webhook_mode_with_a_good_secret(tmp_path, capsys):
    text = f'[telegram]\nmode = "webhook"\n[telegram.webhook]\nurl = "https://x.example/hook"\nsecret = "{GOOD_SECRET}"\n'
    assert run_cli(tmp_path, text, "config", "check") == 0
    assert capsys.readouterr().out == "OK\n"


def test_the_secret_can_come_from_the_environment(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CRADLE_TELEGRAM__WEBHOOK__SECRET", GOOD_SECRET)
    assert run_cli(tmp_path, '[telegram]\nmode = "webhook"\n', "config", "check") == 0


@pytest.mark.parametrize(
    "url", ["mysql://u:p@db/cradle", "sqlite:///cradle.db", "postgresql://u@db/cradle", "cradle.db", "postgresql+psycopg2://u@db/x"]
)
def test_config_check_refuses_database_urls_cradle_cannot_use(tmp_path, capsys, url):
    code = run_cli(tmp_path, f'[database]\nurl = "{url}"\n', "config", "check")
    err = capsys.readouterr().err
    assert code != 0
    assert "[database].url: must start with sqlite+aiosqlite:/// (a file) or postgresql+asyncpg:// (a server)" in err
    assert ":p@" not in err  # never the password


@pytest.mark.parametrize("url", ["sqlite+aiosqlite:///cradle.db", "postgresql+asyncpg://u:p@db:5432/cradle"])
def test_config_check_accepts_the_two_supported_drivers(tmp_path, capsys, url):
    assert run_cli(tmp_path, f'[database]\nurl = "{url}"\n', "config", "check") == 0


def test_run_with_an_unreachable_database_says_so_in_one_sentence(tmp_path, capsys):
    text = '[telegram]\ntoken = "123:abc"\n[database]\nurl = "postgresql+asyncpg://cradle:hunter2@127.0.0.1:1/cradle"\n'
    code = run_cli(tmp_path, text, "run")
    captured = capsys.readouterr()
    assert code != 0
    assert "Traceback" not in captured.err + captured.out
    assert "Cannot use the database at postgresql+asyncpg://cradle:***@127.0.0.1:1/cradle" in captured.err
    assert "[database].url" in captured.err and "CRADLE_DATABASE__URL" in captured.err
    assert "hunter2" not in captured.err


def test_run_with_an_unreachable_bot_api_says_so_in_one_sentence(tmp_path, capsys):
    url = f"sqlite+aiosqlite:///{tmp_path / 'cradle.db'}"
    migrate.upgrade(url)
    text = f'[telegram]\ntoken = "123:abc"\napi_base = "http://127.0.0.1:1"\n[database]\nurl = "{url}"\n'
    code = run_cli(tmp_path, text, "run")
    captured = capsys.readouterr()
    assert code != 0
    assert "Traceback" not in captured.err + captured.out
    assert "Cannot reach the Telegram Bot API at http://127.0.0.1:1" in captured.err and "[telegram].api_base" in captured.err


def test_run_webhook_refuses_to_start_without_a_secret(tmp_path, capsys):
    url = f"sqlite+aiosqlite:///{tmp_path / 'cradle.db'}"
    migrate.upgrade(url)
    text = f'[telegram]\ntoken = "123:abc"\n[telegram.webhook]\nurl = "https://x.example/hook"\n[database]\nurl = "{url}"\n'
    code = run_cli(tmp_path, text, "run", "--webhook")
    captured = capsys.readouterr()
    assert code != 0
    assert captured.err.strip().splitlines()[-1].startswith("Webhook mode needs [telegram.webhook].secret")
