"""An organisation's pages: overview and embed snippet, API keys, knowledge, audit.
Each declares the same permission its /v1 twin does."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from parlour.errors import InvalidInput, ParlourError
from parlour.features import FeatureChanges
from parlour.identity.policy import Permission, role_grants
from parlour.keys.models import Scope
from parlour.keys.tokens import client_issuer, widget_audience
from parlour.tenants.models import Verification
from parlour.tenants.service import available_time_zones
from parlour.web.dashboard.knowledge_imports import imports_panel
from parlour.web.dashboard.notices import Notice
from parlour.web.dashboard.pages import (
    SignedInPage,
    go,
    member_page,
    render,
    same_origin_form,
)
from parlour.web.deps import ServicesDep
from parlour.web.json_lines import json_lines_download
from parlour.web.policy import Member
from parlour.web.widget import widget_integrity, widget_path

router = APIRouter(include_in_schema=False)

Viewer = Annotated[Member, Depends(member_page(Permission.VIEW_ORGANISATION))]
KeyKeeper = Annotated[Member, Depends(member_page(Permission.MANAGE_KEYS))]
KeyIssuer = Annotated[Member, Depends(member_page(Permission.MANAGE_KEYS, step_up=True))]
Librarian = Annotated[Member, Depends(member_page(Permission.MANAGE_KNOWLEDGE))]
Reviewer = Annotated[Member, Depends(member_page(Permission.MANAGE_KNOWLEDGE, step_up=True))]
Auditor = Annotated[Member, Depends(member_page(Permission.VIEW_AUDIT))]
SettingsKeeper = Annotated[Member, Depends(member_page(Permission.MANAGE_SETTINGS))]
Exporter = Annotated[Member, Depends(member_page(Permission.VIEW_AUDIT, step_up=True))]

FEATURES = [field.name for field in dataclasses.fields(FeatureChanges)]
SCOPES = {
    Scope.MINT_END_USER_TOKENS: "Mint chat tokens for your signed-in customers",
    Scope.REVOKE_END_USERS: "Sign customers out of chat",
    Scope.WRITE_CLIENT_KEYS: "Register your own token-signing keys",
    Scope.WRITE_KNOWLEDGE: "Upload knowledge",
    Scope.READ_REPORTS: "Read reports",
}


@router.get("/dashboard")
async def home(session: SignedInPage, services: ServicesDep, request: Request) -> Response:
    memberships = await services.authorisation.memberships(session.account.account_id)
    invitations = await services.members.invitations_for(session)
    if len(memberships) == 1 and session.account.platform_role is None and not invitations:
        return go(f"/dashboard/o/{memberships[0].tenant_id}")
    organisations = [(await services.tenants.get(m.tenant_id), m.role) for m in memberships]
    return render(
        request,
        "organisations.html",
        session=session,
        organisations=organisations,
        invitations=invitations,
        operator=session.account.platform_role is not None,
    )


@router.get("/dashboard/o/{tenant_id}")
async def overview(who: Viewer, services: ServicesDep, request: Request) -> Response:
    tenant = await services.tenants.get(who.tenant_id)
    public_url = services.settings.server.public_url.rstrip("/")
    snippet = (
        f'<script src="{public_url}{widget_path()}"\n'
        f'        integrity="{widget_integrity()}" crossorigin="anonymous" defer></script>\n'
        "<script>\n"
        "  // In your own script file (your CSP should not allow inline scripts):\n"
        f'  Parlour.init({{ server: "{public_url}", widgetId: "{tenant.widget_id}",\n'
        "                  getToken: () => /* ask your backend for a chat token */ });\n"
        "</script>"
    )
    return render(
        request,
        "overview.html",
        who=who,
        tenant=tenant,
        verified=tenant.verification is Verification.VERIFIED,
        origins=await services.tenants.origins(tenant.tenant_id),
        snippet=snippet,
        features=await services.features.of(tenant.tenant_id),
        can_change=role_grants(who.membership.role, Permission.MANAGE_SETTINGS),
        time_zones=sorted(available_time_zones()),
    )


@router.post("/dashboard/o/{tenant_id}/features")
async def change_features(who: SettingsKeeper, services: ServicesDep, request: Request) -> Response:
    form = await same_origin_form(request)
    # A box left unticked is not sent: every switch the form shows is set, on or off.
    wanted = FeatureChanges(**{name: form.get(name) == "on" for name in FEATURES})
    await services.features.change(who.tenant_id, wanted, actor=who.actor)
    return go(f"/dashboard/o/{who.tenant_id}", Notice.FEATURES_SAVED)


@router.post("/dashboard/o/{tenant_id}/time-zone")
async def change_time_zone(
    who: SettingsKeeper, services: ServicesDep, request: Request
) -> Response:
    form = await same_origin_form(request)
    try:
        await services.tenants.set_time_zone(
            who.tenant_id, form.get("time_zone", "").strip(), actor=who.actor
        )
    except InvalidInput:
        return go(f"/dashboard/o/{who.tenant_id}", Notice.TIME_ZONE_REFUSED)
    return go(f"/dashboard/o/{who.tenant_id}", Notice.TIME_ZONE_SAVED)


async def _keys_page(
    request: Request, who: Member, services: ServicesDep, **context: Any
) -> Response:
    keys = await services.api_keys.of_tenant(who.tenant_id)
    tenant = await services.tenants.get(who.tenant_id)
    now = services.clock()
    return render(
        request,
        "keys.html",
        who=who,
        keys=sorted(keys, key=lambda k: k.created_at, reverse=True),
        now=now,
        scopes=SCOPES,
        signing_keys=[
            (key, key.state_at(now)) for key in await services.signing_keys.of_tenant(who.tenant_id)
        ],
        client_keys=await services.client_keys.of_tenant(who.tenant_id),
        issuer=client_issuer(tenant.widget_id),
        audience=widget_audience(tenant.widget_id),
        **context,
    )


@router.get("/dashboard/o/{tenant_id}/keys")
async def keys(who: KeyKeeper, services: ServicesDep, request: Request) -> Response:
    return await _keys_page(request, who, services)


@router.post("/dashboard/o/{tenant_id}/keys")
async def create_key(who: KeyIssuer, services: ServicesDep, request: Request) -> Response:
    form = await request.form()
    chosen = [Scope(s) for s in form.getlist("scopes") if s in {x.value for x in Scope}]
    try:
        issued = await services.api_keys.create(
            who.tenant_id,
            label=str(form.get("label", "")),
            scopes=chosen,
            expires_at=services.clock() + timedelta(days=365),
            actor=who.actor,
        )
    except ParlourError as error:
        return await _keys_page(request, who, services, error=error.message)
    return await _keys_page(request, who, services, created=issued)


@router.post("/dashboard/o/{tenant_id}/keys/{key_id}/rotate")
async def rotate_key(
    key_id: str, who: KeyIssuer, services: ServicesDep, request: Request
) -> Response:
    """The new secret is shown once; the old key keeps working for a day."""
    try:
        issued = await services.api_keys.rotate(
            who.tenant_id, key_id, overlap=timedelta(hours=24), actor=who.actor
        )
    except ParlourError as error:
        return await _keys_page(request, who, services, error=error.message)
    return await _keys_page(request, who, services, created=issued)


@router.post("/dashboard/o/{tenant_id}/keys/{key_id}/revoke")
async def revoke_key(
    key_id: str, who: KeyKeeper, services: ServicesDep, request: Request
) -> Response:
    await services.api_keys.revoke(who.tenant_id, key_id, actor=who.actor)
    return go(f"/dashboard/o/{who.tenant_id}/keys", Notice.KEY_REVOKED)


@router.post("/dashboard/o/{tenant_id}/keys/signing/rotate")
async def rotate_signing_key(who: KeyIssuer, services: ServicesDep, request: Request) -> Response:
    form = await same_origin_form(request)
    now = form.get("retire_now") == "on"
    overlap = 0 if now else services.settings.tokens.signing_key_overlap_seconds
    await services.signing_keys.rotate(
        who.tenant_id, overlap=timedelta(seconds=overlap), actor=who.actor
    )
    return go(f"/dashboard/o/{who.tenant_id}/keys", Notice.SIGNING_KEY_ROTATED)


@router.post("/dashboard/o/{tenant_id}/keys/client")
async def register_client_key(who: KeyIssuer, services: ServicesDep, request: Request) -> Response:
    form = await same_origin_form(request)
    try:
        await services.client_keys.register(
            who.tenant_id, form.get("public_key_pem", "")[:4096], actor=who.actor
        )
    except ParlourError as error:
        return await _keys_page(request, who, services, error=error.message)
    return go(f"/dashboard/o/{who.tenant_id}/keys", Notice.CLIENT_KEY_REGISTERED)


@router.post("/dashboard/o/{tenant_id}/keys/client/{kid}/revoke")
async def revoke_client_key(
    kid: str, who: KeyKeeper, services: ServicesDep, request: Request
) -> Response:
    await services.client_keys.revoke(who.tenant_id, kid, actor=who.actor)
    return go(f"/dashboard/o/{who.tenant_id}/keys", Notice.CLIENT_KEY_REVOKED)


async def _knowledge_page(
    request: Request, who: Member, services: ServicesDep, **context: Any
) -> Response:
    versions = await services.knowledge.versions(who.tenant_id)
    held = await services.knowledge.review.quarantined(who.tenant_id)
    imports = await imports_panel(services, who.tenant_id, request)
    return render(
        request,
        "knowledge.html",
        who=who,
        versions=versions[-10:][::-1],
        held=held,
        imports=imports,
        **context,
    )


@router.get("/dashboard/o/{tenant_id}/knowledge")
async def knowledge(who: Librarian, services: ServicesDep, request: Request) -> Response:
    return await _knowledge_page(request, who, services)


# Uploads (POST …/knowledge) are imports run in the background: web/dashboard/knowledge_imports.py.


@router.post("/dashboard/o/{tenant_id}/knowledge/held/{item_id}")
async def decide_held(
    item_id: str, who: Reviewer, services: ServicesDep, request: Request
) -> Response:
    form = await same_origin_form(request)
    approve = form.get("decision") == "approve"
    try:
        await services.knowledge.review.decide(
            who.tenant_id, item_id, approve=approve, actor=who.actor
        )
    except ParlourError as error:
        return await _knowledge_page(request, who, services, error=error.message)
    notice = Notice.PASSAGE_APPROVED if approve else Notice.PASSAGE_REJECTED
    return go(f"/dashboard/o/{who.tenant_id}/knowledge", notice)


@router.get("/dashboard/o/{tenant_id}/audit")
async def audit(
    who: Auditor, services: ServicesDep, request: Request, action: str = "", before: int = 0
) -> Response:
    events = await services.audit.recent(
        who.tenant_id,
        limit=100,
        before_seq=before or None,
        action_prefix=action[:64] or None,
    )
    older = events[-1]["seq"] if len(events) == 100 else None
    return render(request, "audit.html", who=who, events=events, action=action, older=older)


@router.post("/dashboard/o/{tenant_id}/audit/export")
async def export_audit(who: Exporter, services: ServicesDep) -> Response:
    """The same download as the /v1 export, recorded in the chain before its first line."""
    events = await services.audit.export_recorded(
        who.tenant_id, to_chain=who.tenant_id, actor=who.actor
    )
    return json_lines_download(events, "audit.jsonl")
