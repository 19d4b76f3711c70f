"""How an organisation's widget looks: what a person may choose (a brand colour whose text
reaches WCAG AA contrast, texts within their lengths), a logo judged by its content and remade
as a small PNG (T-109), the audited change, and the defaults until anything is set."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from parlour.errors import InvalidInput, PayloadTooLarge
from parlour.services import Services
from parlour.tenants.appearance import (
    DEFAULT,
    LANGUAGES,
    ColourContrastTooLow,
    checked,
    contrast,
    relative_luminance,
    text_on,
)
from parlour.tenants.logo import MAX_LOGO_BYTES, LogoNotAnImage, remade
from tests.support.images import HTML, SVG, image_bytes
from tests.support.seed import ACTOR

FEATURES = {"attachments": False, "rating": True, "transcript": False, "person": True}


def chosen(**changes: object) -> dict[str, object]:
    return {
        "title": "Ask the bank",
        "greeting": None,
        "brand_colour": "#1f5fbf",
        "launcher_position": "right",
        "hours_message": None,
        "features": FEATURES,
        "language": "auto",
    } | changes


def test_the_luminance_and_contrast_are_wcags() -> None:
    assert relative_luminance("#000000") == 0
    assert relative_luminance("#ffffff") == pytest.approx(1)
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    # WCAG's own example pair: #777777 on white is 4.48:1, just short of AA.
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


def test_a_brand_colour_whose_text_would_not_reach_aa_is_refused_with_its_own_code() -> None:
    # Mid grey: white on it is 3.9:1, the widget's dark ink 4.0:1; neither reaches 4.5:1.
    with pytest.raises(ColourContrastTooLow) as refused:
        checked(**chosen(brand_colour="#808080"))  # type: ignore[arg-type]
    assert refused.value.code == "brand_colour_contrast_too_low"
    assert refused.value.details["required"] == 4.5
    assert refused.value.details["contrast"] < 4.5


def test_a_dark_colour_takes_white_text_and_a_light_one_dark_text() -> None:
    assert checked(**chosen(brand_colour="#1F5FBF")).brand_colour == "#1f5fbf"  # type: ignore[arg-type]
    assert text_on("#1f5fbf") == "#ffffff"
    assert checked(**chosen(brand_colour="#ffd400")).brand_colour == "#ffd400"  # type: ignore[arg-type]
    assert text_on("#ffd400") == "#1c2433"


@pytest.mark.parametrize(
    "changes",
    [
        {"brand_colour": "blue"},
        {"brand_colour": "#12345"},
        {"brand_colour": "#1f5fbf;background:url(x)"},
        {"title": ""},
        {"title": "x" * 61},
        {"title": "Ask\u202ethe bank"},
        {"greeting": "x" * 301},
        {"greeting": "Hello\x00"},
        {"hours_message": "x" * 201},
        {"launcher_position": "top"},
        {"language": "xx"},
        {"features": {"video": True}},
    ],
)
def test_what_a_person_chooses_is_refused_with_the_reason(changes: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        checked(**chosen(**changes))  # type: ignore[arg-type]


def test_texts_are_trimmed_and_empty_ones_are_none() -> None:
    appearance = checked(
        **chosen(title="  Ask   the bank ", greeting="  ", hours_message=" Back at 9\r\nsoon ")
    )  # type: ignore[arg-type]
    assert appearance.title == "Ask the bank"
    assert appearance.greeting is None
    assert appearance.hours_message == "Back at 9\nsoon"


def test_t109_a_png_logo_is_decoded_and_remade_as_a_small_png() -> None:
    """T-109."""
    upload = image_bytes("PNG", (600, 300))
    logo = remade(upload)
    assert logo.png != upload
    with Image.open(io.BytesIO(logo.png)) as image:
        assert image.format == "PNG"
        assert max(image.size) <= 128
        assert image.size == (128, 64)


@pytest.mark.parametrize("kind", ["JPEG", "WEBP"])
def test_t109_jpeg_and_webp_logos_are_taken_and_stored_as_png(kind: str) -> None:
    """T-109."""
    with Image.open(io.BytesIO(remade(image_bytes(kind, (64, 64))).png)) as image:
        assert image.format == "PNG"
        assert image.size == (64, 64)


@pytest.mark.parametrize("upload", [SVG, HTML, b"%PDF-1.7\n", b"GIF89a" + b"\x00" * 20, b""])
def test_t109_svg_html_or_anything_but_png_jpeg_webp_is_refused_by_its_content(
    upload: bytes,
) -> None:
    """T-109: the name (logo.png) and the declared type never count; the content does."""
    with pytest.raises(LogoNotAnImage) as refused:
        remade(upload)
    assert refused.value.code == "logo_not_an_image"


def test_t109_a_file_that_only_starts_like_a_png_is_refused() -> None:
    """T-109."""
    with pytest.raises(LogoNotAnImage):
        remade(b"\x89PNG\r\n\x1a\n" + HTML)


def test_t109_a_polyglot_keeps_only_its_picture() -> None:
    """T-109: a PNG with a page after its end is remade from its pixels only."""
    logo = remade(image_bytes("PNG", (32, 32)) + HTML)
    assert b"script" not in logo.png


def test_t109_a_logo_over_256_kb_is_refused_before_it_is_decoded() -> None:
    """T-109."""
    with pytest.raises(PayloadTooLarge):
        remade(b"\x89PNG\r\n\x1a\n" + b"\x00" * MAX_LOGO_BYTES)


async def test_until_set_an_organisation_has_the_defaults(backend: Services) -> None:
    tenant = await backend.tenants.create("Plain Bank", actor=ACTOR)
    appearance = await backend.widget_appearance.get(tenant.tenant_id)
    assert appearance == DEFAULT
    assert appearance.title == "Chat with us"
    assert appearance.brand_colour == "#1f5fbf"
    assert appearance.features.as_dict() == {
        "attachments": False,
        "rating": True,
        "transcript": True,
        "person": True,
    }


async def test_setting_the_look_and_the_logo_is_audited_without_the_logos_bytes(
    backend: Services,
) -> None:
    tenant = await backend.tenants.create("Brand Bank", actor=ACTOR)
    other = await backend.tenants.create("Other Bank", actor=ACTOR)
    upload = image_bytes("PNG", (200, 200))
    await backend.widget_appearance.set(
        tenant.tenant_id,
        **chosen(greeting="Hello!", language="fr", launcher_position="left"),  # type: ignore[arg-type]
        logo=upload,
        actor=ACTOR,
    )
    appearance = await backend.widget_appearance.get(tenant.tenant_id)
    assert appearance.configured
    assert (appearance.title, appearance.greeting, appearance.language) == (
        "Ask the bank",
        "Hello!",
        "fr",
    )
    assert appearance.launcher_position == "left"
    assert appearance.features.as_dict() == FEATURES
    assert appearance.logo_digest is not None
    logo_event, look_event = await backend.audit.recent(tenant.tenant_id, limit=2)
    assert look_event["action"] == "tenant.widget_appearance_set"
    assert look_event["data"]["greeting_chars"] == 6
    assert logo_event["action"] == "tenant.widget_logo_set"
    assert logo_event["data"]["digest"] == appearance.logo_digest
    assert logo_event["data"]["uploaded_bytes"] == len(upload)
    assert set(logo_event["data"]) == {"digest", "uploaded_bytes", "stored_bytes"}
    # Another organisation's stays as it was.
    assert await backend.widget_appearance.get(other.tenant_id) == DEFAULT


async def test_a_refused_logo_changes_nothing_of_the_look(backend: Services) -> None:
    tenant = await backend.tenants.create("Careful Bank", actor=ACTOR)
    with pytest.raises(LogoNotAnImage):
        await backend.widget_appearance.set(
            tenant.tenant_id,
            **chosen(title="Changed"),  # type: ignore[arg-type]
            logo=SVG,
            actor=ACTOR,
        )
    assert await backend.widget_appearance.get(tenant.tenant_id) == DEFAULT


async def test_a_change_without_a_logo_keeps_it_and_removing_it_is_audited(
    backend: Services,
) -> None:
    tenant = await backend.tenants.create("Logo Bank", actor=ACTOR)
    with_logo = await backend.widget_appearance.set_logo(
        tenant.tenant_id, image_bytes("JPEG", (50, 50)), actor=ACTOR
    )
    assert with_logo.title == DEFAULT.title
    kept = await backend.widget_appearance.set(
        tenant.tenant_id,
        **chosen(title="Still a logo"),  # type: ignore[arg-type]
        actor=ACTOR,
    )
    assert kept.logo_digest == with_logo.logo_digest
    removed = await backend.widget_appearance.remove_logo(tenant.tenant_id, actor=ACTOR)
    assert removed.logo_digest is None
    (event,) = await backend.audit.recent(tenant.tenant_id, limit=1)
    assert event["action"] == "tenant.widget_logo_removed"


def test_the_languages_offered_are_the_locales_the_widget_ships() -> None:
    locales = Path(__file__).resolve().parents[2] / "widget" / "locales"
    shipped = sorted(path.stem for path in locales.glob("*.json"))
    assert shipped == sorted(code for code in LANGUAGES if code != "auto")
