import re
import string
from pathlib import Path

import pytest

from bot.i18n import LOCALES, SUPPORTED, I18n, MissingTranslation, load_catalog, normalise_language

ROOT = Path(__file__).resolve().parents[2]
KEY_USE = re.compile(r"""\bt\(\s*["']([a-z_]+\.[a-z_.]+)["']""")


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_language_has_exactly_the_same_keys():
    catalogs = {language: load_catalog(language) for language in SUPPORTED}
    reference = set(catalogs["zh-CN"])
    for language, catalog in catalogs.items():
        assert set(catalog) == reference, f"{language}: missing {reference - set(catalog)}, extra {set(catalog) - reference}"


def test_placeholders_match_across_languages():
    zh, en = load_catalog("zh-CN"), load_catalog("en")
    for key in zh:
        assert placeholders(zh[key]) == placeholders(en[key]), key


def test_every_key_used_in_code_exists():
    catalog = load_catalog("en")
    used = set()
    for path in [*ROOT.glob("handlers/*.py"), *ROOT.glob("bot/**/*.py")]:
        used |= set(KEY_USE.findall(path.read_text(encoding="utf-8")))
    assert used, "found no translation keys in the code"
    assert used <= set(catalog), used - set(catalog)


def test_chinese_texts_use_full_width_punctuation():
    for key, text in load_catalog("zh-CN").items():
        assert not re.search(r"[\u4e00-\u9fff][,!?;:]", text), f"{key}: half-width punctuation after Chinese: {text}"


@pytest.mark.parametrize(
    ("code", "expected"), [("zh-hans", "zh-CN"), ("zh-hant", "zh-CN"), ("en-US", "en"), ("en", "en"), ("ru", None), (None, None)]
)
def test_telegram_language_codes_map_to_catalogs(code, expected):
    assert normalise_language(code) == expected


def test_member_language_wins_then_group_default():
    i18n = I18n()
    assert i18n.translator("en-GB", "zh-CN").language == "en"
    assert i18n.translator("ru", "zh-CN").language == "zh-CN"
    assert i18n.translator(None, "en").language == "en"


def test_unknown_key_raises_instead_of_showing_a_placeholder():
    with pytest.raises(MissingTranslation):
        I18n().translators["en"]("no.such.key")


def test_catalog_files_live_in_the_package():
    assert {path.stem for path in LOCALES.glob("*.toml")} == set(SUPPORTED)


def test_every_domain_error_has_a_text_in_both_languages():
    import importlib
    import pkgutil

    from bot.core.errors import DomainError

    for name in ("core", "points", "engagement", "content", "moderation", "faq", "members"):
        package = importlib.import_module(f"bot.{name}")
        for module in pkgutil.iter_modules(package.__path__, f"bot.{name}."):
            importlib.import_module(module.name)

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    # Internal failures (storage conflicts, invalid ledger entries) never reach members as text.
    internal = {"storage.conflict", "ledger.invalid"}
    codes = {error.code for error in subclasses(DomainError)} - internal
    assert codes, "no domain errors found"
    for language in SUPPORTED:
        assert codes <= set(load_catalog(language)), (language, codes - set(load_catalog(language)))
