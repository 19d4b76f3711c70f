"""The assistant's prompt template, versioned: every save is a new version, any two compare as a
diff, and activating an older one rolls back. Each change is audited."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from parlour.assistant.models import TemplateVersion
from parlour.assistant.prompts import MAX_TEMPLATE_CHARS
from parlour.identity.policy import Permission
from parlour.web.deps import ServicesDep
from parlour.web.policy import JsonOnly, Member, member

router = APIRouter(tags=["prompt templates"])

Viewer = Annotated[Member, Depends(member(Permission.VIEW_ORGANISATION))]
SettingsKeeper = Annotated[Member, Depends(member(Permission.MANAGE_SETTINGS))]
# 0 names Parlour's built-in template, the one in force until a version is made live.
VersionParam = Annotated[int, Path(ge=0, le=1_000_000)]


class TemplateVersionOut(BaseModel):
    version: int
    sha256: str
    created_by: str
    created_at: datetime
    live: bool


class TemplatesOut(BaseModel):
    live_version: int = Field(description="0 while Parlour's built-in template is live.")
    versions: list[TemplateVersionOut]


class TemplateText(BaseModel):
    version: int
    text: str


class NewTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, Field(min_length=1, max_length=MAX_TEMPLATE_CHARS + 1_000)]
    activate: bool = True


class TemplateDiffOut(BaseModel):
    since: int
    to: int
    diff: str = Field(description="A unified diff; empty when the two are the same.")


def _version(template: TemplateVersion) -> TemplateVersionOut:
    return TemplateVersionOut(
        version=template.version,
        sha256=template.sha256,
        created_by=template.created_by,
        created_at=template.created_at,
        live=template.live,
    )


@router.get("/v1/organisations/{tenant_id}/prompt-templates")
async def templates(who: Viewer, services: ServicesDep) -> TemplatesOut:
    configuration = services.assistant.configuration
    live, _text = await configuration.live_template(who.tenant_id)
    listed = await configuration.templates(who.tenant_id)
    return TemplatesOut(live_version=live or 0, versions=[_version(t) for t in listed])


@router.get("/v1/organisations/{tenant_id}/prompt-templates/diff")
async def diff(
    who: Viewer,
    services: ServicesDep,
    since: Annotated[int, Query(ge=0, le=1_000_000)],
    to: Annotated[int, Query(ge=0, le=1_000_000)],
) -> TemplateDiffOut:
    text = await services.assistant.configuration.diff_templates(who.tenant_id, since, to)
    return TemplateDiffOut(since=since, to=to, diff=text)


@router.get("/v1/organisations/{tenant_id}/prompt-templates/{version}")
async def template(version: VersionParam, who: Viewer, services: ServicesDep) -> TemplateText:
    text = await services.assistant.configuration.template_text(who.tenant_id, version)
    return TemplateText(version=version, text=text)


@router.post(
    "/v1/organisations/{tenant_id}/prompt-templates", status_code=201, dependencies=[JsonOnly]
)
async def save(body: NewTemplate, who: SettingsKeeper, services: ServicesDep) -> TemplateVersionOut:
    """Store a new version, live at once unless `activate` is false (a draft)."""
    saved = await services.assistant.configuration.save_template(
        who.tenant_id, body.text, actor=who.actor, activate=body.activate
    )
    return _version(saved)


@router.post("/v1/organisations/{tenant_id}/prompt-templates/{version}/activate")
async def activate(
    version: VersionParam, who: SettingsKeeper, services: ServicesDep
) -> TemplatesOut:
    """Make a stored version live (an older one: a rollback; 0: Parlour's built-in one)."""
    await services.assistant.configuration.activate_template(
        who.tenant_id, version, actor=who.actor
    )
    return await templates(who, services)
