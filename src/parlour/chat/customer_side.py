"""The customer's side of the desk when nobody is there, and after a resolution (issue 22): what
a widget hears on connecting outside business hours or with nobody available, and the frames
it may send then: an e-mail address for replies (`contact`), the transcript by e-mail
(`transcript`), a rating of the resolution (`rate`). Their rules are those of
chat/availability.py, chat/customer_mail.py and chat/ratings.py; this is the socket's part.
"""

from __future__ import annotations

from typing import Any

from parlour.chat.availability import Availability
from parlour.chat.customer_mail import CustomerMail
from parlour.chat.models import ConversationStatus
from parlour.chat.protocol import (
    ContactFrame,
    CustomerFrame,
    RateFrame,
    TranscriptFrame,
    error_frame,
)
from parlour.chat.ratings import Ratings
from parlour.chat.session import ChatSession
from parlour.errors import Conflict

Frame = dict[str, Any]


class CustomerSide:
    def __init__(self, availability: Availability, mail: CustomerMail, ratings: Ratings) -> None:
        self._availability = availability
        self._mail = mail
        self._ratings = ratings

    async def greeting(self, session: ChatSession, *, people: bool) -> list[Frame]:
        """After `ready` and the history: the `availability` frame, when nobody can answer (it
        is closed, or the customer waits for a person, the organisation has `people` who
        handle conversations, and none of them is available)."""
        waiting = people and session.conversation.status is ConversationStatus.QUEUED
        return await self._availability_of(session, for_people=waiting)

    async def handed_over(self, session: ChatSession) -> list[Frame]:
        """After the customer asked for a person: the `availability` frame when nobody can
        answer them."""
        return await self._availability_of(session, for_people=True)

    async def _availability_of(self, session: ChatSession, *, for_people: bool) -> list[Frame]:
        frame = await self._availability.frame(session.tenant_id, for_people=for_people)
        if frame is None:
            return []
        # Only when nobody can answer: is there an address to write to?
        frame["email_known"] = _has_verified_email(session) or (
            await self._mail.address_of(session.tenant_id, session.conversation_id) is not None
        )
        return [frame]

    async def handle(self, session: ChatSession, frame: CustomerFrame) -> list[Frame]:
        tenant_id, conversation_id = session.tenant_id, session.conversation_id
        match frame:
            case ContactFrame(email=email):
                await self._mail.leave_address(tenant_id, conversation_id, email)
                return [{"type": "contact_saved"}]
            case TranscriptFrame():
                await self._mail.request_transcript(tenant_id, conversation_id, session.user)
                return [{"type": "transcript_queued"}]
            case RateFrame(score=score, comment=comment):
                try:
                    rating = await self._ratings.rate(tenant_id, conversation_id, score, comment)
                except Conflict as refused:
                    return [error_frame(refused.code, refused.message)]
                return [{"type": "rated", "score": rating.score}]

    async def seen(self, session: ChatSession, seq: int) -> None:
        """The customer's client acknowledged up to `seq`, an agent's reply among it."""
        await self._mail.seen(session.tenant_id, session.conversation_id, seq)


def _has_verified_email(session: ChatSession) -> bool:
    return not session.user.visitor and bool(session.user.traits.get("email"))
