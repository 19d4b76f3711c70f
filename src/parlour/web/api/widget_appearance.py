"""How an organisation's widget looks (issue 24): title, greeting, brand colour (checked for
WCAG AA contrast), launcher side, business-hours message, features and language, as the widget's
public config carries them (`GET /widget/v1/config/{widget_id}`). Every member reads them; those
who manage its settings (admins, owners) change them, audited. The logo is uploaded as the raw
body of its own route (PNG, JPEG or WebP, judged by content, remade as a small PNG: T-109)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from parlour.identity.policy import Permission
from parlour.settings import Settings
from parlour.tenants.appearance import (
    MAX_GREETING,
    MAX_HOURS_MESSAGE,
    MAX_TITLE,
    Appearance,
)
from parlour.tenants.appearance_service import WidgetLook
from parlour.tenants.logo import MAX_LOGO_BYTES
from parlour.web.api.knowledge import read_bounded
from parlour.web.deps import ServicesDep
from parlour.web.policy import JsonOnly, Member, member
from parlour.web.request_limits import body_limit
from parlour.web.widget_config import config_of

router = APIRouter(tags=["Widget appearance"])

Reader = Annotated[Member, Depends(member(Permission.VIEW_ORGANISATION))]
Keeper = Annotated[Member, Depends(member(Permission.MANAGE_SETTINGS))]
Language = Literal["auto", "en", "fr", "de", "es", "hi", "ar"]
Position = Literal["right", "left"]


class FeaturesIO(BaseModel):
    model_config = ConfigDict(extra="forbid")

    attachments: bool = False
    rating: bool = True
    transcript: bool = True
    person: bool = Field(default=True, description='The "talk to a person" button.')


class WidgetAppearanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, Field(min_length=1, max_length=MAX_TITLE)]
    greeting: Annotated[str | None, Field(max_length=MAX_GREETING)] = None
    brand_colour: Annotated[
        str,
        Field(
            pattern=r"^#[0-9a-fA-F]{6}$",
            description="#rrggbb; white or dark text on it must reach 4.5:1 (WCAG AA), "
            "else 422 brand_colour_contrast_too_low",
        ),
    ]
    launcher_position: Position = "right"
    hours_message: Annotated[
        str | None,
        Field(
            max_length=MAX_HOURS_MESSAGE,
            description="Shown when the organisation is closed (its business hours).",
        ),
    ] = None
    features: FeaturesIO = FeaturesIO()
    language: Language = Field(default="auto", description="auto: the page's language.")


class WidgetAppearanceOut(BaseModel):
    configured: bool = Field(description="False: never set; these are the defaults.")
    title: str
    greeting: str | None
    brand_colour: str
    logo_url: str | None
    launcher_position: str
    hours_message: str | None
    features: FeaturesIO
    language: str


def _out(look: WidgetLook, public_url: str) -> WidgetAppearanceOut:
    config = config_of(look, public_url)
    return WidgetAppearanceOut(configured=look.appearance.configured, **config)


async def _look(services: ServicesDep, tenant_id: str, appearance: Appearance) -> WidgetLook:
    tenant = await services.tenants.get(tenant_id)
    return WidgetLook(tenant.widget_id, appearance)


@router.get("/v1/organisations/{tenant_id}/widget-appearance")
async def widget_appearance(who: Reader, services: ServicesDep) -> WidgetAppearanceOut:
    appearance = await services.widget_appearance.get(who.tenant_id)
    look = await _look(services, who.tenant_id, appearance)
    return _out(look, services.settings.server.public_url)


@router.put("/v1/organisations/{tenant_id}/widget-appearance", dependencies=[JsonOnly])
async def set_widget_appearance(
    body: WidgetAppearanceIn, who: Keeper, services: ServicesDep
) -> WidgetAppearanceOut:
    """Replace how the widget looks (the logo stays). Audited; pages' widgets read it within
    five minutes (their config is cached that long)."""
    appearance = await services.widget_appearance.set(
        who.tenant_id,
        title=body.title,
        greeting=body.greeting,
        brand_colour=body.brand_colour,
        launcher_position=body.launcher_position,
        hours_message=body.hours_message,
        features=body.features.model_dump(),
        language=body.language,
        actor=who.actor,
    )
    look = await _look(services, who.tenant_id, appearance)
    return _out(look, services.settings.server.public_url)


def _logo_limit(_settings: Settings) -> int:
    return MAX_LOGO_BYTES


@router.put("/v1/organisations/{tenant_id}/widget-appearance/logo")
@body_limit(_logo_limit)
async def set_widget_logo(
    request: Request, who: Keeper, services: ServicesDep
) -> WidgetAppearanceOut:
    """The logo, as the raw body: a PNG, JPEG or WebP image of at most 256 KB, judged by its
    content (SVG and anything else: 415 `logo_not_an_image`), remade as a PNG of at most 128 px.
    Served at the `logo_url` answered, a URL named by its content. Audited, without the bytes."""
    data = await read_bounded(request, MAX_LOGO_BYTES)
    appearance = await services.widget_appearance.set_logo(who.tenant_id, data, actor=who.actor)
    look = await _look(services, who.tenant_id, appearance)
    return _out(look, services.settings.server.public_url)


@router.delete("/v1/organisations/{tenant_id}/widget-appearance/logo")
async def remove_widget_logo(who: Keeper, services: ServicesDep) -> WidgetAppearanceOut:
    """The widget shows no logo from now on. Audited."""
    appearance = await services.widget_appearance.remove_logo(who.tenant_id, actor=who.actor)
    look = await _look(services, who.tenant_id, appearance)
    return _out(look, services.settings.server.public_url)
