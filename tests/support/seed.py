"""Creating organisations, keys and tokens for tests, through the services as an operator would."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from parlour.audit.events import Actor
from parlour.keys.models import Scope
from parlour.keys.tokens import sign_end_user_token
from parlour.services import Services
from parlour.storage.types import utcnow
from parlour.tenants.models import Tenant
from tests.support import canaries

ACTOR = Actor.system("tests")

SAMPLE_FAQ = b"""question,answer
How do I reset my password?,"Tap Forgot password on the sign-in screen, then follow the link."
What are your opening hours?,"We are open Monday to Friday, 9:00 to 17:00."
How do I block my card?,"Go to Cards, choose the card and tap Freeze card."
"""


@dataclass(frozen=True)
class Organisation:
    tenant: Tenant
    origin: str
    api_key: str

    @property
    def tenant_id(self) -> str:
        return self.tenant.tenant_id

    @property
    def widget_id(self) -> str:
        return self.tenant.widget_id


async def organisation(
    services: Services,
    *,
    name: str = "Example Org",
    origin: str = "https://shop.example.com",
    faq: bytes | None = SAMPLE_FAQ,
    scopes: tuple[Scope, ...] = (Scope.MINT_END_USER_TOKENS, Scope.REVOKE_END_USERS),
) -> Organisation:
    tenant = await services.tenants.create(name, [origin], actor=ACTOR)
    issued = await services.api_keys.create(
        tenant.tenant_id, label="test", scopes=scopes, actor=ACTOR
    )
    if faq is not None:
        await services.knowledge.import_faq_csv(tenant.tenant_id, faq, actor=ACTOR)
    return Organisation(tenant=tenant, origin=origin, api_key=canaries.register(issued.secret))


async def signed_token(
    services: Services,
    org: Organisation,
    *,
    issuer: str,
    now: datetime | None = None,
    ttl: timedelta = timedelta(minutes=5),
    private_key: Ed25519PrivateKey | None = None,
) -> str:
    """A token with a lifetime or key of the test's choosing; by default the tenant's own key,
    which the test reads as a key thief would."""
    key = await services.signing_keys.ensure(org.tenant_id)
    minted = sign_end_user_token(
        private_key or await services.signing_keys.private_key(key),
        key.kid,
        issuer=issuer,
        tenant_id=org.tenant_id,
        widget_id=org.widget_id,
        user_id="customer-1",
        origin=org.origin,
        traits={},
        now=now or utcnow(),
        ttl=ttl,
    )
    return canaries.register(minted.token)


async def token_for(services: Services, org: Organisation, user_id: str = "customer-1") -> str:
    minted = await services.end_user_tokens.mint(
        org.tenant_id, widget_id=org.widget_id, user_id=user_id, origin=org.origin
    )
    return canaries.register(minted.token)


async def with_a_person(services: Services, org: Organisation, user_id: str = "customer-1") -> str:
    """The user's conversation, handed to a person (seq 1 is the handoff), so the assistant says
    nothing and every frame after it is one the test caused; its id."""
    conversation = await services.chat.open_conversation(org.tenant_id, user_id)
    await services.chat.request_handoff(org.tenant_id, conversation.conversation_id)
    return conversation.conversation_id
