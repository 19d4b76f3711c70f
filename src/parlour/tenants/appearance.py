"""How an organisation's widget looks and what it shows (issue 24): its title and greeting, its
brand colour, logo, launcher side, the message it shows outside business hours, which features
show, and its language. The rules are pure; the widget reads them through its public config
(`GET /widget/v1/config/{widget_id}`, README "The widget's look").

The brand colour is the background of the launcher, the header and the customer's own messages,
with text on it in white or in the widget's dark ink, whichever contrasts more. The colour is
refused unless that text reaches WCAG 2.x AA for normal text (4.5:1), computed from the WCAG
relative luminance of both colours (`contrast`).

The business-hours message is what the widget says when the organisation is closed; the hours
themselves, and the reply time it promises, stay in `tenants.business_hours`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from parlour.errors import InvalidInput
from parlour.identifiers import check_identifier, check_text

MAX_TITLE = 60
MAX_GREETING = 300
MAX_HOURS_MESSAGE = 200
POSITIONS = ("right", "left")
# The widget's locale files (widget/locales/*.json); "auto" follows the page's language.
LANGUAGES = ("auto", "en", "fr", "de", "es", "hi", "ar")
LANGUAGE_NAMES = {
    "auto": "The page's language",
    "en": "English",
    "fr": "Français",
    "de": "Deutsch",
    "es": "Español",
    "hi": "हिन्दी",
    "ar": "العربية",
}
FEATURES = ("attachments", "rating", "transcript", "person")
# The text the widget puts on the brand colour: white, or its dark ink, whichever contrasts more.
WHITE = "#ffffff"
DARK_INK = "#1c2433"
AA_NORMAL_TEXT = 4.5
_COLOUR = re.compile(r"#[0-9a-f]{6}")


class ColourContrastTooLow(InvalidInput):
    code = "brand_colour_contrast_too_low"
    default_message = (
        "Text on this brand colour would be hard to read: neither white nor dark text on it "
        "reaches the 4.5:1 contrast WCAG AA asks for. Choose a darker or a lighter colour."
    )


@dataclass(frozen=True, slots=True)
class Features:
    attachments: bool = False  # off until the organisation turns it on
    rating: bool = True
    transcript: bool = True
    person: bool = True

    def as_dict(self) -> dict[str, bool]:
        return {name: bool(getattr(self, name)) for name in FEATURES}


@dataclass(frozen=True, slots=True)
class Appearance:
    title: str = "Chat with us"
    greeting: str | None = None
    brand_colour: str = "#1f5fbf"
    launcher_position: str = "right"
    hours_message: str | None = None
    features: Features = field(default_factory=Features)
    language: str = "auto"
    logo_digest: str | None = None  # sha256 of the stored PNG, which names its URL
    configured: bool = False  # False: the organisation never set it; these are the defaults


DEFAULT = Appearance()


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of `#rrggbb` (0 black … 1 white)."""
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(red) + 0.7152 * _channel(green) + 0.0722 * _channel(blue)


def contrast(one: str, other: str) -> float:
    """WCAG contrast ratio of two `#rrggbb` colours, 1 … 21."""
    a, b = sorted((relative_luminance(one), relative_luminance(other)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def text_on(colour: str) -> str:
    """The text colour the widget puts on `colour`: white, or dark ink, whichever contrasts
    more (white on a tie)."""
    return WHITE if contrast(colour, WHITE) >= contrast(colour, DARK_INK) else DARK_INK


def checked_colour(value: str) -> str:
    colour = value.strip().lower()
    if not _COLOUR.fullmatch(colour):
        raise InvalidInput("the brand colour is written #rrggbb, e.g. #1f5fbf")
    ink = text_on(colour)
    ratio = contrast(colour, ink)
    if ratio < AA_NORMAL_TEXT:
        raise ColourContrastTooLow(
            details={
                "brand_colour": colour,
                "text_colour": ink,
                "contrast": round(ratio, 2),
                "required": AA_NORMAL_TEXT,
            }
        )
    return colour


def _title(value: str) -> str:
    title = " ".join(value.split())
    if not title or len(title) > MAX_TITLE:
        raise InvalidInput(f"the title is 1 to {MAX_TITLE} characters")
    return check_identifier(title, "the title")


def _prose(value: str | None, limit: int, what: str) -> str | None:
    """Optional text; line breaks kept, ends trimmed, empty is none."""
    if value is None:
        return None
    text = value.replace("\r\n", "\n").strip()
    if not text:
        return None
    if len(text) > limit:
        raise InvalidInput(f"{what} is at most {limit} characters")
    return check_text(text, what)


def checked(
    *,
    title: str,
    greeting: str | None,
    brand_colour: str,
    launcher_position: str,
    hours_message: str | None,
    features: dict[str, bool],
    language: str,
    logo_digest: str | None = None,
) -> Appearance:
    """An appearance from what a person chose, or InvalidInput saying what is wrong."""
    if launcher_position not in POSITIONS:
        raise InvalidInput("the launcher sits on the right or the left")
    if language not in LANGUAGES:
        raise InvalidInput(f"the language is one of {', '.join(LANGUAGES)}")
    unknown = set(features) - set(FEATURES)
    if unknown:
        raise InvalidInput(f"the features are {', '.join(FEATURES)}")
    return Appearance(
        title=_title(title),
        greeting=_prose(greeting, MAX_GREETING, "the greeting"),
        brand_colour=checked_colour(brand_colour),
        launcher_position=launcher_position,
        hours_message=_prose(hours_message, MAX_HOURS_MESSAGE, "the business-hours message"),
        features=replace(DEFAULT.features, **{k: bool(v) for k, v in features.items()}),
        language=language,
        logo_digest=logo_digest,
        configured=True,
    )


def public_config(appearance: Appearance, logo_url: str | None) -> dict[str, Any]:
    """The widget's config as `GET /widget/v1/config/{widget_id}` answers it: a fixed shape the
    widget reads (README, "The widget's look")."""
    return {
        "title": appearance.title,
        "greeting": appearance.greeting,
        "brand_colour": appearance.brand_colour,
        "logo_url": logo_url,
        "launcher_position": appearance.launcher_position,
        "hours_message": appearance.hours_message,
        "features": appearance.features.as_dict(),
        "language": appearance.language,
    }
