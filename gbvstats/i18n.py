"""Messages to users in English, Russian and Kyrgyz.

Texts are data: `gbvstats/messages/*.yaml`, one file per stage, each key mapping to
`{en: ..., ru: ..., ky: ...}` with `str.format` placeholders. The language comes from
`--lang`, else `GBVSTATS_LANG`, else the locale (`LC_ALL`, `LC_MESSAGES`, `LANG`), else en.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from gbvstats.paths import load_yaml

LANGS = ("en", "ru", "ky")
MESSAGES_DIR = Path(__file__).resolve().parent / "messages"


def choose_lang(explicit: str | None = None) -> str:
    if explicit:
        lang = explicit.lower()
        if lang not in LANGS:
            raise ValueError(f"unknown language {explicit!r}; expected one of {', '.join(LANGS)}")
        return lang
    for var in ("GBVSTATS_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")[:2].lower()
        if value in LANGS:
            return value
        if value == "kg":  # a common misspelling of the Kyrgyz locale
            return "ky"
    return "en"


@cache
def _messages() -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for path in sorted(MESSAGES_DIR.glob("*.yaml")):
        data = load_yaml(path.read_text(encoding="utf-8")) or {}
        for key, texts in data.items():
            if key in merged:
                raise ValueError(f"{path.name}: message key {key!r} defined twice")
            merged[key] = texts
    return merged


def t(key: str, lang: str = "en", **params: object) -> str:
    """The message `key` in `lang`, falling back to English, formatted with `params`."""
    texts = _messages().get(key)
    if texts is None:
        raise KeyError(f"no message {key!r} in gbvstats/messages/")
    template = texts.get(lang) or texts["en"]
    return template.format(**params)


def pick(labels: dict[str, str] | None, lang: str) -> str:
    """One language out of a `{en, ru, ky}` label, falling back to English."""
    if not labels:
        return ""
    return labels.get(lang) or labels.get("en") or next(iter(labels.values()))
