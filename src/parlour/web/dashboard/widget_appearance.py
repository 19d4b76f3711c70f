"""The Widget page: how the organisation's widget looks (title, greeting, brand colour, logo,
launcher side, business-hours message, features, language), with a live preview. Every member
sees it; admins and owners change it (the /v1 route's policy), audited.

The preview is the widget itself: the page loads the widget script from this server and
static/widget-preview.js, which hands the widget the form's values on every input
(`Parlour.preview`), so what the page shows is what customers will see. Without script the form
still saves."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from parlour.errors import ParlourError
from parlour.identity.policy import Permission, role_grants
from parlour.settings import Settings
from parlour.tenants.appearance import (
    FEATURES,
    LANGUAGE_NAMES,
    LANGUAGES,
    MAX_GREETING,
    MAX_HOURS_MESSAGE,
    MAX_TITLE,
    POSITIONS,
    Appearance,
)
from parlour.tenants.appearance_service import WidgetLook
from parlour.tenants.logo import MAX_LOGO_BYTES
from parlour.web.dashboard.notices import Notice
from parlour.web.dashboard.pages import failed, go, member_page, render
from parlour.web.deps import ServicesDep
from parlour.web.policy import Member
from parlour.web.request_limits import FORM_OVERHEAD_BYTES, body_limit
from parlour.web.widget import widget_path
from parlour.web.widget_config import config_of

router = APIRouter(include_in_schema=False)

Viewer = Annotated[Member, Depends(member_page(Permission.VIEW_ORGANISATION))]
Keeper = Annotated[Member, Depends(member_page(Permission.MANAGE_SETTINGS))]
FEATURE_LABELS = {
    "attachments": "Attachments (customers send images and PDFs)",
    "rating": "Rating (customers rate a resolved conversation)",
    "transcript": "Transcript (customers ask for one by e-mail)",
    "person": "Talk to a person (the button that asks for one)",
}


def _form_limit(_settings: Settings) -> int:
    return MAX_LOGO_BYTES + FORM_OVERHEAD_BYTES


async def _context(who: Member, services: ServicesDep) -> dict[str, Any]:
    appearance = await services.widget_appearance.get(who.tenant_id)
    tenant = await services.tenants.get(who.tenant_id)
    look = WidgetLook(tenant.widget_id, appearance)
    return {
        "who": who,
        "appearance": appearance,
        "config": config_of(look),
        "widget_id": tenant.widget_id,
        # The widget as the embed snippet loads it now, for the preview.
        "widget_script": widget_path(),
        "languages": [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
        "positions": POSITIONS,
        "features": [(name, FEATURE_LABELS[name]) for name in FEATURES],
        "limits": {
            "title": MAX_TITLE,
            "greeting": MAX_GREETING,
            "hours_message": MAX_HOURS_MESSAGE,
            "logo_kb": MAX_LOGO_BYTES // 1024,
        },
        "can_change": role_grants(who.membership.role, Permission.MANAGE_SETTINGS),
    }


@router.get("/dashboard/o/{tenant_id}/widget")
async def widget_page(who: Viewer, services: ServicesDep, request: Request) -> Response:
    return render(request, "widget.html", **await _context(who, services))


def _draft(form: dict[str, Any], saved: Appearance) -> dict[str, Any]:
    """What was typed, shown again with the error."""
    return {
        "title": form.get("title", ""),
        "greeting": form.get("greeting", ""),
        "brand_colour": form.get("brand_colour", ""),
        "launcher_position": form.get("launcher_position", saved.launcher_position),
        "hours_message": form.get("hours_message", ""),
        "language": form.get("language", saved.language),
        "features": {name: form.get(f"feature_{name}") == "on" for name in FEATURES},
    }


@router.post("/dashboard/o/{tenant_id}/widget")
@body_limit(_form_limit)
async def save(who: Keeper, services: ServicesDep, request: Request) -> Response:
    """The settings, and the logo if one was chosen (or its removal), from one form."""
    form = await request.form()  # parsed, and its origin and token checked, already
    texts = {k: v for k, v in form.items() if isinstance(v, str)}
    logo = form.get("logo")
    saved = await services.widget_appearance.get(who.tenant_id)
    try:
        upload = None
        if isinstance(logo, UploadFile) and logo.filename:
            upload = await logo.read(MAX_LOGO_BYTES + 1)
        await services.widget_appearance.set(
            who.tenant_id,
            title=texts.get("title", ""),
            greeting=texts.get("greeting"),
            brand_colour=texts.get("brand_colour", ""),
            launcher_position=texts.get("launcher_position", ""),
            hours_message=texts.get("hours_message"),
            features={name: texts.get(f"feature_{name}") == "on" for name in FEATURES},
            language=texts.get("language", ""),
            actor=who.actor,
            logo=upload,
            remove_logo=texts.get("remove_logo") == "on",
        )
    except ParlourError as error:
        context = await _context(who, services)
        return failed(request, "widget.html", error, draft=_draft(texts, saved), **context)
    return go(f"/dashboard/o/{who.tenant_id}/widget", Notice.WIDGET_SAVED)
