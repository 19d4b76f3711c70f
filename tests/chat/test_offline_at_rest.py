"""What a stolen database shows of the desk's customer side: no address a customer left, no
rating comment, no address a mail is owed to (all sealed with the organisation's key)."""

from __future__ import annotations

from parlour.services import Services
from tests.chat.test_lifecycle import member
from tests.support import seed
from tests.support.dump import every_cell, sqlite_files


async def test_addresses_and_rating_comments_are_kept_only_sealed(
    services: Services, sqlite_url: str
) -> None:
    """T-46, T-48: customer text and addresses of the desk's customer side are sealed."""
    org = await seed.organisation(services, faq=None)
    conversation = await services.chat.open_conversation(org.tenant_id, "ada")
    conversation_id = conversation.conversation_id
    address = "ada.canary4417@customer.example"
    comment = "Bo fixed it CANARY4418"
    await services.customer_mail.leave_address(org.tenant_id, conversation_id, address)
    await services.chat.request_handoff(org.tenant_id, conversation_id)
    agent = await member(services, org.tenant_id)
    await services.desk.reply(org.tenant_id, conversation_id, "Fixed.", actor=agent)  # owes mail
    await services.desk.resolve(org.tenant_id, conversation_id, actor=agent)
    await services.ratings.rate(org.tenant_id, conversation_id, 5, comment)
    assert await services.customer_mail.address_of(org.tenant_id, conversation_id) == address
    raw = sqlite_files(sqlite_url)
    cells = await every_cell(services)
    for secret in ("canary4417", "CANARY4418"):
        assert secret.encode() not in raw
        assert secret not in cells
