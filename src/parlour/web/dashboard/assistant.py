"""The assistant page: how its recent turns ended (fallbacks and blocks counted by reason), the
prompt template's versions, a diff between any two, saving a new one and rolling back, as the
/v1 prompt-template routes allow."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from parlour.errors import ParlourError
from parlour.identity.policy import Permission, role_grants
from parlour.web.dashboard.notices import Notice
from parlour.web.dashboard.pages import go, member_page, render, same_origin_form
from parlour.web.deps import ServicesDep
from parlour.web.policy import Member

router = APIRouter(include_in_schema=False)

Viewer = Annotated[Member, Depends(member_page(Permission.VIEW_ORGANISATION))]
SettingsKeeper = Annotated[Member, Depends(member_page(Permission.MANAGE_SETTINGS))]
Version = Annotated[int, Query(ge=0, le=1_000_000)]
OUTCOME_DAYS = 30
# What each recorded reason means to an administrator; an unknown one is shown as it is.
REASONS = {
    "model_timed_out": "the model took longer than the generation timeout",
    "model_failed": "the model could not be reached or failed",
    "empty_answer": "the model said nothing",
    "degenerate": "the model looped, echoed the question or said nothing; the passage answered",
    "turn_failed": "a fault in the turn",
    "canary_in_answer": "the answer recited the assistant's instructions",
    "unsupported_answer": "the answer strayed from its knowledge",
    "credential_request": "the answer asked the customer for a secret (PIN, code, password…)",
    "exfiltration_request": "the answer sent the customer's data to an address not yours",
    "no_confident_knowledge": "nothing in the knowledge matched",
    "assistant_off": "the assistant was switched off",
    "prompt_too_long": "the question and its knowledge did not fit the prompt",
    "tokens_per_conversation_spent": "the conversation's token budget was spent",
    "tokens_per_end_user_spent": "the customer's token budget was spent",
    "tokens_per_tenant_spent": "your organisation's token budget was spent",
}


async def _page(
    request: Request,
    who: Member,
    services: ServicesDep,
    *,
    since: int | None = None,
    to: int | None = None,
    **context: Any,
) -> Response:
    configuration = services.assistant.configuration
    live, text = await configuration.live_template(who.tenant_id)
    versions = await configuration.templates(who.tenant_id)
    outcomes = await services.assistant.outcome_counts(who.tenant_id, days=OUTCOME_DAYS)
    diff_lines: list[str] | None = None
    if since is not None and to is not None:
        diff_lines = (await configuration.diff_templates(who.tenant_id, since, to)).splitlines()
    return render(
        request,
        "assistant.html",
        who=who,
        live=live or 0,
        text=context.pop("draft", text),
        versions=sorted(versions, key=lambda v: v.version, reverse=True),
        since=since,
        to=to,
        diff_lines=diff_lines,
        can_change=role_grants(who.membership.role, Permission.MANAGE_SETTINGS),
        outcomes=outcomes,
        outcome_days=OUTCOME_DAYS,
        reasons=REASONS,
        **context,
    )


@router.get("/dashboard/o/{tenant_id}/assistant")
async def assistant(
    who: Viewer,
    services: ServicesDep,
    request: Request,
    since: Version | None = None,
    to: Version | None = None,
) -> Response:
    return await _page(request, who, services, since=since, to=to)


@router.post("/dashboard/o/{tenant_id}/assistant/templates")
async def save_template(who: SettingsKeeper, services: ServicesDep, request: Request) -> Response:
    form = await same_origin_form(request)
    draft = form.get("text", "")
    try:
        await services.assistant.configuration.save_template(
            who.tenant_id, draft, actor=who.actor, activate=form.get("activate") == "on"
        )
    except ParlourError as error:
        return await _page(request, who, services, error=error.message, draft=draft)
    return go(f"/dashboard/o/{who.tenant_id}/assistant", Notice.TEMPLATE_SAVED)


@router.post("/dashboard/o/{tenant_id}/assistant/templates/{version}/activate")
async def activate_template(version: int, who: SettingsKeeper, services: ServicesDep) -> Response:
    await services.assistant.configuration.activate_template(
        who.tenant_id, version, actor=who.actor
    )
    return go(f"/dashboard/o/{who.tenant_id}/assistant", Notice.TEMPLATE_ACTIVATED)
