"""Learned phrasings on the dashboard (web/dashboard/learned_phrasings.py): a member who manages
knowledge sees what customers' picks taught each entry, removes one or keeps it as a written
phrasing (CSRF-checked forms that return only to the organisation's own knowledge pages); an
analyst can do neither; another organisation's phrasing is not found."""

from __future__ import annotations

import html

import httpx

from parlour.knowledge.learned import Learning
from parlour.services import Services
from tests.conftest import Stack
from tests.support.seed import ACTOR, SAMPLE_FAQ
from tests.web.dashboard.test_knowledge_gaps import Pages, csrf_of, member

PASSWORD_ENTRY = "How do I reset my password?"
TAUGHT = "I can't get into my account"


async def taught(services: Services, tenant_id: str, text: str = TAUGHT) -> str:
    """The organisation's FAQ, its password entry taught `text`; the phrasing's id."""
    if not await services.knowledge.faq_entries(tenant_id):
        await services.knowledge.import_faq_csv(tenant_id, SAMPLE_FAQ, actor=ACTOR)
    entries = await services.knowledge.faq_entries(tenant_id)
    (entry,) = [e for e in entries if e.question == PASSWORD_ENTRY]
    learned = services.knowledge.learned
    assert await learned.learn(tenant_id, entry, text, customer="c1") is Learning.LEARNED
    (phrasing, *_) = [
        p for p in await learned.of_entry(tenant_id, PASSWORD_ENTRY) if p.text == text
    ]
    return phrasing.phrasing_id


async def test_a_librarian_sees_removes_and_keeps_learned_phrasings(stack: Stack) -> None:
    services = stack.services
    async with httpx.AsyncClient(base_url=stack.url) as client:
        browser, org, _email = await member(stack, client)
        pages = Pages(client, browser, stack.url)
        kept_id = await taught(services, org)
        removed_id = await taught(services, org, "locked out of the app")
        learned_page = f"/dashboard/o/{org}/knowledge/learned"

        listed = await pages.get(learned_page)
        assert listed.status_code == 200
        assert html.escape(PASSWORD_ENTRY) in listed.text
        assert TAUGHT in html.unescape(listed.text)
        forged = await pages.post(f"{learned_page}/{removed_id}/remove", {"csrf_token": "nope"})
        assert forged.status_code == 403
        assert len(await services.knowledge.learned.of_entry(org, PASSWORD_ENTRY)) == 2

        removed = await pages.post(
            f"{learned_page}/{removed_id}/remove",
            {"csrf_token": csrf_of(listed), "back": "https://attacker.example/"},
        )
        assert removed.status_code == 303
        assert removed.headers["location"] == learned_page  # never elsewhere
        kept = await pages.post(
            f"{learned_page}/{kept_id}/keep",
            {"csrf_token": csrf_of(listed), "back": f"/dashboard/o/{org}/knowledge"},
        )
        assert kept.status_code == 303
        assert kept.headers["location"] == f"/dashboard/o/{org}/knowledge"
        after = await pages.get(learned_page)
        assert "Nothing learned yet." in after.text

    assert await services.knowledge.learned.of_entry(org, PASSWORD_ENTRY) == []
    (entry,) = [
        e for e in await services.knowledge.faq_entries(org) if e.question == PASSWORD_ENTRY
    ]
    assert entry.phrasings == (TAUGHT,)
    actions = [e["action"] for e in await services.audit.recent(org, limit=10)]
    assert "knowledge.learned_phrasing_removed" in actions
    assert "knowledge.learned_phrasing_kept" in actions


async def test_an_analyst_and_another_organisation_cannot_touch_learned_phrasings(
    stack: Stack,
) -> None:
    """T-29: a phrasing of one organisation is not found through another's pages; an analyst
    of the organisation neither sees nor changes them."""
    services = stack.services
    async with httpx.AsyncClient(base_url=stack.url) as client:
        owner, org, _email = await member(stack, client)
        analyst, _their_own, email = await member(stack, client)
        stranger, other_org, _ = await member(stack, client)
        await owner.send(
            "POST", f"/v1/organisations/{org}/invitations", {"email": email, "role": "analyst"}
        )
        (waiting,) = (await analyst.send("GET", "/v1/invitations")).json()
        await analyst.send("POST", f"/v1/invitations/{waiting['invitation_id']}/accept")
        phrasing_id = await taught(services, org)

        reader = Pages(client, analyst, stack.url)
        assert (await reader.get(f"/dashboard/o/{org}/knowledge/learned")).status_code == 403
        own = await reader.get(f"/dashboard/o/{org}/reports")
        posted = await reader.post(
            f"/dashboard/o/{org}/knowledge/learned/{phrasing_id}/remove",
            {"csrf_token": csrf_of(own)},
        )
        assert posted.status_code == 403

        other = Pages(client, stranger, stack.url)
        theirs = await other.get(f"/dashboard/o/{other_org}/knowledge/learned")
        assert TAUGHT not in html.unescape(theirs.text)
        across = await other.post(
            f"/dashboard/o/{other_org}/knowledge/learned/{phrasing_id}/remove",
            {"csrf_token": csrf_of(theirs)},
        )
        assert across.status_code == 404

    assert len(await services.knowledge.learned.of_entry(org, PASSWORD_ENTRY)) == 1
