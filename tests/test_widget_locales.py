"""The widget's locale files (widget/locales, bundled into the script at build time) each say
everything en.json says, with the same placeholders, and nothing it does not."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

LOCALES = Path(__file__).resolve().parents[1] / "widget" / "locales"
PLURAL = re.compile(r"^(\w+)_(zero|one|two|few|many|other)$")


def strings(name: str) -> dict[str, str]:
    loaded = json.loads((LOCALES / f"{name}.json").read_text())
    assert isinstance(loaded, dict)
    return loaded


def base(key: str) -> str:
    match = PLURAL.match(key)
    return match.group(1) if match and match.group(1) == "unread" else key


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text))


@pytest.mark.parametrize("name", ["fr", "de", "es", "hi", "ar"])
def test_each_language_says_everything_english_says_with_the_same_placeholders(name: str) -> None:
    english, other = strings("en"), strings(name)
    assert {base(key) for key in other} == {base(key) for key in english}
    assert "unread_other" in other  # the fallback of every plural form
    for key, text in other.items():
        assert text.strip(), key
        reference = english.get(key, english.get(f"{base(key)}_other", ""))
        assert placeholders(text) <= placeholders(reference), key
        if key in english and base(key) == key:
            assert placeholders(text) == placeholders(reference), key


def test_the_languages_are_the_ones_the_widget_offers() -> None:
    assert sorted(path.stem for path in LOCALES.glob("*.json")) == [
        "ar",
        "de",
        "en",
        "es",
        "fr",
        "hi",
    ]
