"""The knowledge editor's pages: the live entries browsed and searched, an FAQ entry edited
(a new version the assistant answers from) and removed, versions published and rolled back,
two versions compared entry by entry, and the "try a question" console; every change a form
with the session's CSRF token from our own origin, for members who manage knowledge only."""

from __future__ import annotations

import html
import re

import httpx
from sqlalchemy import func, select

from parlour.storage.tables import conversations
from tests.conftest import Stack
from tests.support.assistants import ask
from tests.support.seed import ACTOR, Organisation
from tests.web.dashboard.test_knowledge_gaps import Pages, csrf_of, member

FAQ = b"""question,answer,phrasings
How do I reset my password?,"Tap Forgot password, then follow the link.",i forgot my login details
What are your opening hours?,"Monday to Friday, 9:00 to 17:00.",
How do I block my card?,"Go to Cards, choose the card and tap Freeze card.",
"""


async def _signed_in(stack: Stack, client: httpx.AsyncClient) -> tuple[Pages, str]:
    browser, org, _email = await member(stack, client)
    await stack.services.knowledge.upload(org, "faq.csv", FAQ, actor=ACTOR)
    return Pages(client, browser, stack.url), org


def _entry_link(page: httpx.Response, question: str) -> str:
    found = re.search(
        rf'href="([^"]+/knowledge/entries/[^"]+)">{re.escape(question)}</a>', page.text
    )
    assert found, page.text
    return found[1]


async def test_a_librarian_searches_the_live_entries_and_opens_one(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.url) as client:
        pages, org = await _signed_in(stack, client)
        listed = await pages.get(f"/dashboard/o/{org}/knowledge/entries")
        assert listed.status_code == 200
        assert listed.headers["content-security-policy"].startswith("default-src 'none'")
        assert "3 entries" in listed.text
        assert listed.text.index("reset my password") < listed.text.index("block my card")

        found = await pages.get(f"/dashboard/o/{org}/knowledge/entries?q=login+details")
        assert "1 entry found" in found.text
        opened = await pages.get(_entry_link(found, "How do I reset my password?"))
        assert opened.status_code == 200
        assert "i forgot my login details</textarea>" in opened.text
        assert 'id="edit-entry"' in opened.text
        assert "faq.csv" in opened.text

        missing = await pages.get(f"/dashboard/o/{org}/knowledge/entries/no-such-entry")
        assert missing.status_code == 404


async def test_saving_an_entry_publishes_a_version_the_assistant_answers_from(
    stack: Stack,
) -> None:
    services = stack.services
    async with httpx.AsyncClient(base_url=stack.url) as client:
        pages, org = await _signed_in(stack, client)
        tenant = await services.tenants.get(org)
        organisation = Organisation(tenant, "", "")
        before = await ask(
            services, services.assistant, organisation, "What are your opening hours?"
        )
        assert before is not None
        assert before.body == "Monday to Friday, 9:00 to 17:00."
        listed = await pages.get(f"/dashboard/o/{org}/knowledge/entries")
        link = _entry_link(listed, "What are your opening hours?")
        opened = await pages.get(link)

        saved = await pages.post(
            link,
            {
                "csrf_token": csrf_of(opened),
                "question": "What are your opening hours?",
                "phrasings": "when are you open\nwhat time do you close",
                "answer": "Every day, 8:00 to 20:00.",
            },
        )
        assert saved.status_code == 303
        assert saved.headers["location"] != link  # the entry's id in the new version
        shown = await pages.get(saved.headers["location"])
        assert "Every day, 8:00 to 20:00.</textarea>" in shown.text

    versions = await services.knowledge.versions(org)
    assert (versions[0].number, versions[0].published) == (2, True)
    uploads = await services.audit.recent(org, limit=5, action_prefix="knowledge.uploaded")
    assert uploads[0]["actor"]["type"] == "account"  # type: ignore[index]
    after = await ask(services, services.assistant, organisation, "What are your opening hours?")
    assert after is not None
    assert after.body == "Every day, 8:00 to 20:00."


async def test_a_refused_edit_keeps_what_was_typed_and_changes_nothing(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.url) as client:
        pages, org = await _signed_in(stack, client)
        listed = await pages.get(f"/dashboard/o/{org}/knowledge/entries")
        link = _entry_link(listed, "How do I block my card?")
        opened = await pages.get(link)
        refused = await pages.post(
            link,
            {"csrf_token": csrf_of(opened), "question": "How do I block it?", "answer": " "},
        )
        assert refused.status_code == 422
        assert "needs a question and an answer" in refused.text
        assert "How do I block it?</textarea>" in refused.text
    assert len(await stack.services.knowledge.versions(org)) == 1


async def test_a_change_without_the_csrf_token_or_from_another_origin_is_refused(
    stack: Stack,
) -> None:
    """T-55 on the editor's forms."""
    async with httpx.AsyncClient(base_url=stack.url) as client:
        pages, org = await _signed_in(stack, client)
        listed = await pages.get(f"/dashboard/o/{org}/knowledge/entries")
        link = _entry_link(listed, "How do I block my card?")
        fields = {"question": "Q?", "answer": "A."}
        assert (await pages.post(link, fields)).status_code == 403
        assert (await pages.post(f"{link}/remove", {})).status_code == 403
        versions = f"/dashboard/o/{org}/knowledge/versions"
        assert (await pages.post(f"{versions}/1/publish", {})).status_code == 403
        headers = pages.headers | {"origin": "https://evil.example"}
        token = csrf_of(listed)
        posted = await client.post(link, data=fields | {"csrf_token": token}, headers=headers)
        assert posted.status_code == 403
    assert len(await stack.services.knowledge.versions(org)) == 1


async def test_removing_an_entry_and_a_source_each_publish_a_version(stack: Stack) -> None:
    services = stack.services
    async with httpx.AsyncClient(base_url=stack.url) as client:
        pages, org = await _signed_in(stack, client)
        await services.knowledge.upload(org, "more.csv", b"question,answer\nQ?,A.\n", actor=ACTOR)
        listed = await pages.get(f"/dashboard/o/{org}/knowledge/entries")
        link = _entry_link(listed, "How do I block my card?")
        removed = await pages.post(f"{link}/remove", {"csrf_token": csrf_of(listed)})
        assert removed.status_code == 303
        assert removed.headers["location"] == f"/dashboard/o/{org}/knowledge/entries"

        versions = await pages.get(f"/dashboard/o/{org}/knowledge/versions")
        gone = await pages.post(
            f"/dashboard/o/{org}/knowledge/sources/remove",
            {"csrf_token": csrf_of(versions), "name": "more.csv"},
        )
        assert gone.status_code == 303
    live = {e.question for e in await services.knowledge.faq_entries(org)}
    assert live == {"How do I reset my password?", "What are your opening hours?"}
    assert [v.note for v in await services.knowledge.versions(org)][:2] == [
        "removed more.csv",
        "uploaded faq.csv",
    ]


async def test_publishing_an_earlier_version_rolls_back_and_the_diff_names_the_entries(
    stack: Stack,
) -> None:
    services = stack.services
    async with httpx.AsyncClient(base_url=stack.url) as client:
        pages, org = await _signed_in(stack, client)
        changed = FAQ.replace(b"9:00 to 17:00", b"8:00 to 20:00") + b"Do you ship abroad?,No.,\n"
        await services.knowledge.upload(org, "faq.csv", changed, actor=ACTOR)

        versions = await pages.get(f"/dashboard/o/{org}/knowledge/versions")
        assert "Roll back to version 1" in versions.text
        rolled = await pages.post(
            f"/dashboard/o/{org}/knowledge/versions/1/publish", {"csrf_token": csrf_of(versions)}
        )
        assert rolled.status_code == 303
        after = await pages.get(rolled.headers["location"])
        assert "Publish version 2" in after.text
        assert await services.knowledge.published_version(org) == 1
        published = await services.audit.recent(org, limit=1, action_prefix="knowledge.published")
        assert published[0]["data"] == {"version": 1, "previous": 2}  # type: ignore[index]

        diff = await pages.get(f"/dashboard/o/{org}/knowledge/diff?since=1&to=2")
        assert diff.status_code == 200
        table = diff.text[diff.text.index('id="entry-changes"') :]
        assert re.search(r"<td>added</td><td>Do you ship abroad\?</td>", table)
        assert re.search(r"<td>changed</td><td>What are your opening hours\?</td>", table)
        assert "8:00 to 20:00" in table
        assert "block my card" not in table  # unchanged
        unknown = await pages.get(f"/dashboard/o/{org}/knowledge/diff?since=1&to=7")
        assert unknown.status_code == 404


async def test_the_console_shows_the_answer_the_passages_with_scores_and_the_decision(
    stack: Stack,
) -> None:
    services = stack.services
    async with httpx.AsyncClient(base_url=stack.url) as client:
        pages, org = await _signed_in(stack, client)
        console = await pages.get(f"/dashboard/o/{org}/knowledge/try")
        assert console.status_code == 200
        tried = await pages.post(
            f"/dashboard/o/{org}/knowledge/try",
            {"csrf_token": csrf_of(console), "question": "What are your opening hours?"},
        )
        assert tried.status_code == 200
        text = html.unescape(tried.text)
        assert "Decision: answer" in text
        assert "Monday to Friday, 9:00 to 17:00." in text
        passages = text[text.index('id="passages"') :]
        assert re.search(r'<td class="confidence">(0\.[6-9]\d|1\.00)</td>', passages)
        assert re.search(r'<td class="score">\d\.\d{4}</td>', passages)

        abstained = await pages.post(
            f"/dashboard/o/{org}/knowledge/try",
            {"csrf_token": csrf_of(console), "question": "Do you sell car insurance for vans?"},
        )
        text = html.unescape(abstained.text)
        assert "Decision: abstain" in text
        assert "below the 0.60 needed to answer" in text
        assert "the customer would be offered a person" in text
    async with services.db.read(org) as conn:
        assert await conn.scalar(select(func.count()).select_from(conversations)) == 0


async def test_an_analyst_cannot_open_the_editor_nor_try_a_question(stack: Stack) -> None:
    services = stack.services
    async with httpx.AsyncClient(base_url=stack.url) as client:
        owner, org, _ = await member(stack, client)
        analyst, _own, email = await member(stack, client)
        await services.knowledge.upload(org, "faq.csv", FAQ, actor=ACTOR)
        await owner.send(
            "POST", f"/v1/organisations/{org}/invitations", {"email": email, "role": "analyst"}
        )
        (waiting,) = (await analyst.send("GET", "/v1/invitations")).json()
        await analyst.send("POST", f"/v1/invitations/{waiting['invitation_id']}/accept")
        pages = Pages(client, analyst, stack.url)
        for path in ("entries", "versions", "diff?since=1&to=1", "try"):
            assert (await pages.get(f"/dashboard/o/{org}/knowledge/{path}")).status_code == 403
        own_page = await pages.get(f"/dashboard/o/{_own}/knowledge/try")
        posted = await pages.post(
            f"/dashboard/o/{org}/knowledge/try",
            {"csrf_token": csrf_of(own_page), "question": "What are your opening hours?"},
        )
        assert posted.status_code == 403
        published = await pages.post(
            f"/dashboard/o/{org}/knowledge/versions/1/publish", {"csrf_token": csrf_of(own_page)}
        )
        assert published.status_code == 403
