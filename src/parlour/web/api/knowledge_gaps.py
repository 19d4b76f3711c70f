"""The knowledge gaps report over /v1: the questions the assistant could not answer in a period,
grouped by meaning and ranked by how many asked, for members who may read reports. The period
is two days (`from`, `to`, both included) in the organisation's time zone."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from parlour.identity.policy import Permission
from parlour.knowledge.models import UnansweredQuestion
from parlour.web.deps import ServicesDep
from parlour.web.policy import Member, member

router = APIRouter(tags=["reports"])

Analyst = Annotated[Member, Depends(member(Permission.VIEW_ANALYTICS))]


class QuestionOut(BaseModel):
    question_id: str
    text: str
    asked_at: datetime
    kind: str  # "abstained", or "unhelpful": answered but given a thumbs down


class GapOut(BaseModel):
    count: int
    unhelpful: int  # of count: answered but given a thumbs down
    label: QuestionOut
    samples: list[QuestionOut]


class GapsOut(BaseModel):
    from_: date = Field(serialization_alias="from")
    to: date
    time_zone: str
    grouped_by: str
    questions: int
    considered: int
    gaps: list[GapOut]


def _question(question: UnansweredQuestion) -> QuestionOut:
    return QuestionOut(
        question_id=question.question_id,
        text=question.question,
        asked_at=question.asked_at,
        kind=question.kind.value,
    )


@router.get("/v1/organisations/{tenant_id}/reports/gaps")
async def knowledge_gaps(
    who: Analyst,
    services: ServicesDep,
    first: Annotated[str, Query(alias="from", max_length=10, description="YYYY-MM-DD")],
    last: Annotated[str, Query(alias="to", max_length=10, description="YYYY-MM-DD")],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> GapsOut:
    """The period's unanswered questions, largest group first, each with its label question
    and up to three of its newest."""
    period = await services.reports.period(who.tenant_id, first, last)
    report = await services.knowledge.gaps.clusters(
        who.tenant_id, period.since, period.until, limit=limit
    )
    return GapsOut(
        from_=period.start,
        to=period.end,
        time_zone=period.time_zone,
        grouped_by=report.grouped_by,
        questions=report.questions,
        considered=report.considered,
        gaps=[
            GapOut(
                count=c.count,
                unhelpful=c.unhelpful,
                label=_question(c.label),
                samples=[_question(s) for s in c.samples],
            )
            for c in report.clusters
        ],
    )
