"""Reaching a customer by e-mail when nobody was there to answer (issue 22, T-101).

- A customer may leave an e-mail address in their conversation (`leave_address`): checked by a
  strict rule (`checked_address`: one plain address, ASCII, no display name, no quoting, no
  comments, no second recipient), stored sealed, one per conversation (a later one replaces it).
- An agent's reply to a conversation with an address owes a reply mail (`reply_coming`), due a
  little later: if the customer reads it in the widget meanwhile (their client acknowledges it,
  `seen`), it is owed no more. Replies that follow before it is sent ride in the same mail.
- A customer may ask for the transcript (`request_transcript`): it goes to the verified address
  in their token's claims (the trait `email` of an end user the organisation's backend vouched
  for; never a visitor's), else to the address they left in this conversation, else nowhere.
  The frame names no address: a customer cannot send it elsewhere. A transcript holds the
  conversation's messages only (notes live elsewhere and are never read here, T-99).
- Sending is off the request path: an outbox (`customer_mails`) that every node's sender reads,
  claims with a lease, sends over the organisation-independent mailer, and retries with growing
  waits, giving up after `MAX_ATTEMPTS`. Each mail counts against the per-customer and
  per-organisation rates (`parlour.rate_limits`); a transcript is refused at once past them, a
  reply mail waits for room.
- Headers are made where every mail's are, `parlour.identity.mail.compose`, which guards them
  (CVE-2024-6923); the organisation's name, in the subject and the body, is its one line of
  header text (`header_text`), and an address must pass the mailer's own check
  (`header_address`) before the strict rule. A mail holds the organisation's name and message
  text, never a token, link with a secret, or note.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from parlour.chat.customer_mail_repository import (
    REPLY,
    TRANSCRIPT,
    ContactRepository,
    CustomerMailRepository,
    OwedMail,
)
from parlour.chat.models import Author, Message, MessageKind
from parlour.chat.service import ChatService
from parlour.crypto.vault import Place, TenantCipher, Vault
from parlour.errors import InvalidInput, NotFound, RateLimited
from parlour.identity.mail import InvalidAddress, Mailer, header_address, header_text
from parlour.keys.models import EndUser
from parlour.rate_limits import RateLimits
from parlour.storage.database import Database
from parlour.storage.ids import time_ordered_id
from parlour.storage.types import Clock, utcnow
from parlour.tasks import Backoff, Periodic
from parlour.tenants.service import TenantService

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
RETRIES = Backoff(first=timedelta(seconds=30), longest=timedelta(hours=2))
MAX_ATTEMPTS = 10
LIMITED_WAIT = timedelta(minutes=10)  # a reply mail past the rates tries again this much later
BATCH = 100
TRANSCRIPT_MESSAGES = 2000
PER_USER = "customer_mail"
PER_TENANT = "customer_mail_tenant"

# One plain address: dot-atom local part (RFC 5322 without quoting or comments), a host of
# LDH labels with an alphabetic top-level label (an internationalised host in its A-label form).
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_TOP = re.compile(r"[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59}")


class NoAddress(InvalidInput):
    code = "no_email"
    default_message = "There is no e-mail address to send this to: leave one first."


def checked_address(text: str) -> str:
    """`text` as one plain e-mail address (the host lower-cased), or InvalidAddress."""
    if len(text) > 254:
        raise InvalidAddress()
    local, host = header_address(text).split("@")  # one bare address, no encoded word
    labels = host.split(".")
    if (
        not 1 <= len(local) <= 64
        or not _LOCAL.fullmatch(local)
        or len(labels) < 2
        or not all(_LABEL.fullmatch(label) for label in labels)
        or not _TOP.fullmatch(labels[-1])
    ):
        raise InvalidAddress()
    return f"{local}@{host.lower()}"


class CustomerMail:
    def __init__(
        self,
        db: Database,
        vault: Vault,
        chat: ChatService,
        tenants: TenantService,
        mailer: Mailer,
        rate_limits: RateLimits,
        *,
        reply_delay: timedelta,
        poll_seconds: float = 5.0,
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._vault = vault
        self._chat = chat
        self._tenants = tenants
        self._mailer = mailer
        self._limits = rate_limits
        self._reply_delay = reply_delay
        self._clock = clock
        self._rounds = Periodic(
            self.send_due, poll_seconds, failed="sending customer mail failed; trying again"
        )

    def start(self) -> None:
        self._rounds.start()

    async def aclose(self) -> None:
        await self._rounds.aclose()

    async def leave_address(self, tenant_id: str, conversation_id: str, address: str) -> None:
        """The customer's address for this conversation, checked, sealed, replacing any."""
        clean = checked_address(address)
        cipher = await self._vault.cipher(tenant_id)
        sealed = cipher.seal_text(clean, _contact_place(conversation_id))
        async with self._db.transaction(tenant_id) as conn:
            await ContactRepository(conn).put(tenant_id, conversation_id, sealed, self._clock())

    async def address_of(self, tenant_id: str, conversation_id: str) -> str | None:
        """The address left in this conversation, if any."""
        cipher = await self._vault.cipher(tenant_id)
        async with self._db.read(tenant_id) as conn:
            sealed = await ContactRepository(conn).get(tenant_id, conversation_id)
        return None if sealed is None else cipher.open_text(sealed, _contact_place(conversation_id))

    async def request_transcript(self, tenant_id: str, conversation_id: str, user: EndUser) -> None:
        """Owe the conversation's transcript to the customer's verified address, else the one
        they left here; NoAddress when there is neither, RateLimited past the rates."""
        address = _verified_address(user) or await self.address_of(tenant_id, conversation_id)
        if address is None:
            raise NoAddress()
        if not await self._room(tenant_id, user.user_id):
            raise RateLimited("Too many e-mails asked for; try again later.")
        now = self._clock()
        await self._owe(tenant_id, conversation_id, TRANSCRIPT, address, seq=None, due=now)

    async def reply_coming(self, tenant_id: str, conversation_id: str) -> bool:
        """An agent is about to reply: owe a reply mail if the customer left an address here
        and none is owed already; whether one is now owed. Owed before the reply is stored,
        numbered from the conversation's next number, so an `ack` of the reply from a customer
        reading it live always finds it to call off (the reply's number is at least that)."""
        address = await self.address_of(tenant_id, conversation_id)
        if address is None:
            return False
        async with self._db.read(tenant_id) as conn:
            if await CustomerMailRepository(conn).reply_owed(tenant_id, conversation_id):
                return True
        conversation = await self._chat.get_conversation(tenant_id, conversation_id)
        due = self._clock() + self._reply_delay
        seq = conversation.last_seq + 1
        await self._owe(tenant_id, conversation_id, REPLY, address, seq=seq, due=due)
        return True

    async def seen(self, tenant_id: str, conversation_id: str, up_to_seq: int) -> None:
        """The customer's client acknowledged the conversation up to `up_to_seq`."""
        async with self._db.transaction() as conn:
            await CustomerMailRepository(conn).seen(tenant_id, conversation_id, up_to_seq)

    async def send_due(self) -> int:
        """One round of the sender: what is due now, claimed, sent; how many went out."""
        now = self._clock()
        async with self._db.read() as conn:
            due = await CustomerMailRepository(conn).due(now, BATCH)
        if not due:
            return 0
        async with self._db.transaction() as conn:
            taken = await CustomerMailRepository(conn).claim(
                [m.mail_id for m in due], now=now, until=now + LEASE
            )
        sent = 0
        for mail in due:
            if mail.mail_id in taken:
                sent += await self._send(mail, now)
        return sent

    async def _send(self, mail: OwedMail, now: datetime) -> int:
        try:
            cipher = await self._vault.cipher(mail.tenant_id)
            address = cipher.open_text(mail.address_sealed, _mail_place(mail.mail_id))
            composed = await self._compose(mail, cipher)
            if composed is None:  # nothing left to say (the reply was read, the data gone)
                await self._settle(mail, None)
                return 0
            if mail.kind == REPLY and not await self._room(mail.tenant_id, composed[2]):
                await self._settle(mail, now + LIMITED_WAIT)
                return 0
            await self._mailer.send(address, composed[0], composed[1])
        except NotFound:
            await self._settle(mail, None)
            return 0
        except Exception as failed:  # one mail's failure is its own: the round goes on
            log.warning("a customer mail was not sent: %s", type(failed).__name__)
            attempts = mail.attempts + 1
            later = None if attempts >= MAX_ATTEMPTS else now + RETRIES.after(attempts)
            await self._settle(mail, later, attempts=attempts)
            return 0
        await self._settle(mail, None)
        return 1

    async def _settle(
        self, mail: OwedMail, again_at: datetime | None, *, attempts: int | None = None
    ) -> None:
        """Done (sent, or nothing left to send, or given up: `again_at` None), or again later."""
        async with self._db.transaction() as conn:
            owed = CustomerMailRepository(conn)
            if again_at is None:
                await owed.done(mail.mail_id)
            else:
                await owed.retry(mail.mail_id, attempts or mail.attempts, again_at)

    async def _compose(self, mail: OwedMail, cipher: TenantCipher) -> tuple[str, str, str] | None:
        """Subject, body and the customer's id; None when there is nothing to send."""
        tenant = await self._tenants.get(mail.tenant_id)
        conversation = await self._chat.get_conversation(mail.tenant_id, mail.conversation_id)
        name = header_text(tenant.name, 120) or "Support"
        after = (mail.seq or 1) - 1 if mail.kind == REPLY else 0
        messages = await self._chat.history(
            mail.tenant_id, mail.conversation_id, after_seq=after, limit=TRANSCRIPT_MESSAGES
        )
        said = [m for m in messages if m.kind is MessageKind.TEXT]
        if mail.kind == REPLY:
            replies = [m for m in said if m.author is Author.AGENT]
            if not replies:
                return None
            body = (
                f"{name} answered you in your conversation:\n\n"
                + "\n\n".join(_shown(m) for m in replies)
                + "\n\nYou will find the answer in the chat on our site the next time you "
                "visit, and can reply there.\n"
            )
            return f"{name}: a reply to your conversation", body, conversation.end_user_id
        body = f"Your conversation with {name}:\n\n" + _transcript(said)
        return f"{name}: your conversation", body, conversation.end_user_id

    async def _room(self, tenant_id: str, user_id: str) -> bool:
        """Count one mail against the customer's and the organisation's rates, or refuse."""
        if not await self._limits.room_for(PER_TENANT, tenant_id, cost=1):
            return False
        if not await self._limits.allow(PER_USER, tenant_id, user_id):
            return False
        return await self._limits.allow(PER_TENANT, tenant_id)

    async def _owe(
        self,
        tenant_id: str,
        conversation_id: str,
        kind: str,
        address: str,
        *,
        seq: int | None,
        due: datetime,
    ) -> None:
        mail_id = time_ordered_id()
        cipher = await self._vault.cipher(tenant_id)
        sealed = cipher.seal_text(address, _mail_place(mail_id))
        async with self._db.transaction(tenant_id) as conn:
            await CustomerMailRepository(conn).owe(
                mail_id,
                tenant_id,
                conversation_id,
                kind,
                sealed,
                seq=seq,
                due=due,
                at=self._clock(),
            )


_SPEAKERS = {
    Author.USER: "You",
    Author.ASSISTANT: "Assistant",
    Author.AGENT: "Agent",
    Author.SYSTEM: "Support",
}


def _shown(message: Message) -> str:
    """A message's text, and the names of the files it carries: the files stay in the chat (a
    mail carries neither a file nor a link to one, T-102)."""
    files = ", ".join(a.name for a in message.attachments)
    if not files:
        return message.body
    note = f"(attached in the chat: {files})"
    return f"{message.body}\n{note}" if message.body else note


def _transcript(messages: Sequence[Message]) -> str:
    lines = []
    for message in messages:
        when = message.created_at.strftime("%Y-%m-%d %H:%M UTC")
        speaker = _SPEAKERS[message.author]
        lines.append(f"[{when}] {speaker}:\n{_shown(message)}\n")
    return "\n".join(lines) or "(no messages)\n"


def _verified_address(user: EndUser) -> str | None:
    """The e-mail the organisation's backend put in the customer's token, when it is one."""
    if user.visitor:
        return None
    claimed = user.traits.get("email")
    if claimed is None:
        return None
    try:
        return checked_address(claimed)
    except InvalidAddress:
        return None


def _contact_place(conversation_id: str) -> Place:
    return Place("conversation_contacts", conversation_id, "address")


def _mail_place(mail_id: str) -> Place:
    return Place("customer_mails", mail_id, "address")
