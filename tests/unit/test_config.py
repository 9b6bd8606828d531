from pathlib import Path

import pytest

from bot.cli import main
from bot.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_is_valid_and_check_prints_ok(capsys):
    assert main(["config", "check", str(ROOT / "config.example.toml")]) == 0
    assert capsys.readouterr().out.strip() == "OK"


def test_negative_points_are_rejected_with_the_key_path_and_value(tmp_path, capsys):
    path = write(tmp_path, "[points]\ncheckin = -5\n")
    assert main(["config", "check", str(path)]) != 0
    err = capsys.readouterr().err
    assert f"{path}: [points].checkin: must be >= 0 (got -5) (line 2)" in err


def test_a_typo_in_a_key_is_rejected_by_name(tmp_path):
    path = write(tmp_path, '[community]\ntimezne = "Asia/Shanghai"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.problems == [
        f"{path}: [community].timezne: unknown key (check the spelling against config.example.toml) (line 2)"
    ]


def test_a_typo_in_a_section_is_rejected(tmp_path):
    path = write(tmp_path, "[point]\ncheckin = 5\n")
    with pytest.raises(ConfigError, match=r"\[point\]: unknown section"):
        load_settings(path)


def test_every_problem_is_reported_at_once(tmp_path):
    path = write(tmp_path, '[community]\ntimezone = "Mars/Olympus"\nlanguage = "fr"\n[points.streak_bonus]\n1 = 5\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    text = "\n".join(caught.value.problems)
    assert "[community].timezone: unknown timezone 'Mars/Olympus'" in text
    assert "[community].language: must be one of 'zh-CN' or 'en' (got 'fr')" in text
    assert "[points].streak_bonus: streak day must be >= 2 (got 1)" in text


def test_broken_toml_names_the_file(tmp_path):
    path = write(tmp_path, "[points\ncheckin = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(path)


def test_environment_overrides_the_file(tmp_path, monkeypatch):
    path = write(tmp_path, "[points]\ncheckin = 5\n")
    monkeypatch.setenv("CRADLE_POINTS__CHECKIN", "7")
    monkeypatch.setenv("CRADLE_TELEGRAM__TOKEN", "123:abc")
    settings = load_settings(path)
    assert settings.points.checkin == 7
    assert settings.telegram.token.get_secret_value() == "123:abc"


def test_missing_config_file_means_working_defaults(tmp_path):
    settings = load_settings(tmp_path / "absent.toml")
    assert settings.database.url == "sqlite+aiosqlite:///cradle.db"
    assert settings.community.timezone == "Asia/Shanghai"
    assert settings.community.language == "zh-CN"


def test_config_check_of_a_missing_file_fails(tmp_path, capsys):
    assert main(["config", "check", str(tmp_path / "nope.toml")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_config_path_comes_from_the_environment(tmp_path, monkeypatch, capsys):
    path = write(tmp_path, "[points]\ncheckin = -1\n")
    monkeypatch.setenv("CRADLE_CONFIG", str(path))
    assert main(["config", "check"]) == 2
    assert "[points].checkin" in capsys.readouterr().err


def test_run_without_a_token_explains_how_to_get_one_in_one_sentence(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("CRADLE_TELEGRAM__TOKEN", raising=False)
    path = write(tmp_path, "")
    assert main(["run", "--config", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "@BotFather" in err and "[telegram].token" in err and str(path) in err
    assert "Traceback" not in err and err.count("\n") == 0


def test_run_refuses_an_unmigrated_database_with_a_hint(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("CRADLE_TELEGRAM__TOKEN", raising=False)
    db = tmp_path / "fresh.db"
    path = write(tmp_path, f'[telegram]\ntoken = "1:x"\n[database]\nurl = "sqlite+aiosqlite:///{db}"\n')
    assert main(["run", "--config", str(path)]) == 2
    assert "cradle db upgrade" in capsys.readouterr().err


LADDER = """
[[tiers.ladder]]
id = "newcomer"
name = { zh-CN = "新手妈妈", en = "New mum" }
threshold = 0

[[tiers.ladder]]
id = "active"
name = { zh-CN = "活跃妈妈", en = "Active mum" }
threshold = {second}

[shop.items.freeze]  # the default catalogue names the default tiers
name = { zh-CN = "补签卡", en = "Streak freeze" }
cost = 30
kind = "streak_freeze"
"""


def test_a_ladder_whose_thresholds_do_not_increase_is_rejected(tmp_path, capsys):
    path = write(tmp_path, LADDER.replace("{second}", "0"))
    assert main(["config", "check", str(path)]) == 2
    assert f"{path}: [tiers].ladder: thresholds must increase: active (0) is not above newcomer (0) (line 2)" in (
        capsys.readouterr().err
    )
    load_settings(write(tmp_path, LADDER.replace("{second}", "100")))  # increasing: fine


def test_a_ladder_must_start_at_zero(tmp_path):
    with pytest.raises(ConfigError, match=r"first tier \(newcomer\) must have threshold 0 \(got 5\)"):
        load_settings(write(tmp_path, LADDER.replace("threshold = 0", "threshold = 5").replace("{second}", "100")))


def test_an_unknown_badge_rule_is_rejected_naming_the_badge(tmp_path):
    text = '[badges.rules.superstar]\nrule = "sparkles"\nname = { zh-CN = "明星", en = "Star" }\n'
    with pytest.raises(ConfigError) as error:
        load_settings(write(tmp_path, text))
    [problem] = error.value.problems
    assert "[badges.rules.superstar].rule: must be one of 'streak', " in problem
    assert "(got 'sparkles') (line 2)" in problem


def test_a_negative_cost_and_an_unknown_minimum_tier_are_rejected(tmp_path):
    text = '[shop.items.mug]\nname = { zh-CN = "杯子", en = "Mug" }\ncost = -10\n'
    with pytest.raises(ConfigError, match=r"\[shop.items.mug\].cost: must be >= 1 \(got -10\) \(line 3\)"):
        load_settings(write(tmp_path, text))
    text = text.replace("cost = -10", 'cost = 10\nmin_tier = "platinum"')
    with pytest.raises(ConfigError, match=r"\[shop.items.mug\].min_tier: unknown tier 'platinum' \(tiers: newcomer, active, senior, gold\) \(line 4\)"):
        load_settings(write(tmp_path, text))
