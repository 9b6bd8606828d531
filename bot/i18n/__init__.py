"""Message catalogs (one TOML file per language) and the per-update translator."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

LOCALES = Path(__file__).parent / "locales"
SUPPORTED = ("zh-CN", "en")


class MissingTranslation(KeyError):
    pass


def flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = str(value)
    return flat


def load_catalog(language: str, directory: Path = LOCALES) -> dict[str, str]:
    return flatten(tomllib.loads((directory / f"{language}.toml").read_text(encoding="utf-8")))


def normalise_language(code: str | None) -> str | None:
    """Telegram's language_code ("zh-hans", "en-US", ...) to a supported catalog, or None."""
    if not code:
        return None
    code = code.lower()
    if code.startswith("zh"):
        return "zh-CN"
    if code.startswith("en"):
        return "en"
    return None


def pick(names: Mapping[str, str], language: str, fallback: str) -> str:
    """A name configured per language: this language's, else any, else ``fallback``."""
    return names.get(language) or next(iter(names.values()), fallback)


class Translator:
    def __init__(self, language: str, catalog: Mapping[str, str]) -> None:
        self.language = language
        self._catalog = catalog

    def __call__(self, key: str, /, **params: Any) -> str:
        """A parameter may be a function of the language (a tier's or a shop item's name)."""
        try:
            template = self._catalog[key]
        except KeyError:
            raise MissingTranslation(f"{self.language}: {key}") from None
        if not params:
            return template
        return template.format(**{name: value(self.language) if callable(value) else value for name, value in params.items()})


class I18n:
    """All catalogs, loaded once; picks the member's language, then the chat's default."""

    def __init__(self, directory: Path = LOCALES) -> None:
        self.translators = {language: Translator(language, load_catalog(language, directory)) for language in SUPPORTED}

    def translator(self, user_language: str | None, chat_language: str) -> Translator:
        language = normalise_language(user_language) or chat_language
        return self.translators.get(language) or self.translators[SUPPORTED[0]]
