"""The knowledge page's uploads, imported in the background: the answer follows the job until it
is done; the same form sent twice makes one job; bad input is refused on the page at once; the
job's JSON, for the page's script, is its organisation's only and never extends a session."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import select

from parlour.storage.tables import account_sessions
from parlour.storage.types import utcnow
from tests.conftest import Stack, running_stack
from tests.support import seed
from tests.support.clock import PinnableClock
from tests.web.dashboard.test_pages import Pages, csrf_of, enrolled


class Librarian:
    """An owner signed in to the dashboard, on their organisation's knowledge page."""

    def __init__(self, stack: Stack, client: httpx.AsyncClient) -> None:
        self.stack = stack
        self.client = client
        self.pages = Pages(client, stack.url)
        self.path = ""

    async def arrive(self) -> None:
        await enrolled(self.stack, self.pages)
        overview = await self.pages.get((await self.pages.get("/dashboard")).headers["location"])
        self.path = re.search(r'href="(/dashboard/o/[^"]+/knowledge)"', overview.text)[1]  # type: ignore[index]

    @property
    def tenant_id(self) -> str:
        return self.path.split("/")[3]

    async def page(self, query: str = "") -> httpx.Response:
        return await self.pages.get(self.path + query)

    async def send(self, page: httpx.Response, name: str, data: bytes) -> httpx.Response:
        """The page's upload form, sent with the file."""
        token = re.search(r'name="import_token" value="([^"]+)"', page.text)
        assert token, page.text
        return await self.client.post(
            self.path,
            data={"csrf_token": csrf_of(page), "import_token": token[1]},
            files={"file": (name, data)},
            headers=self.pages._headers() | {"origin": self.stack.url},
        )


def job_of(answer: httpx.Response) -> str:
    assert answer.status_code == 303, answer.text
    found = re.search(r"/knowledge\?import=([0-9a-f-]+)#import$", answer.headers["location"])
    assert found, answer.headers["location"]
    return found[1]


async def test_an_upload_answers_with_the_page_following_its_job_until_it_is_done(
    stack: Stack,
) -> None:
    async with httpx.AsyncClient(base_url=stack.url) as client:
        librarian = Librarian(stack, client)
        await librarian.arrive()
        sent = await librarian.send(await librarian.page(), "faq.csv", seed.SAMPLE_FAQ)
        job_id = job_of(sent)
        following = await librarian.pages.get(sent.headers["location"])
        assert f"/knowledge/imports/{job_id}.json" in following.text
        assert '<script src="/dashboard/static/imports.js" defer></script>' in following.text
        assert re.search(r'data-state="(queued|running|done)"', following.text)

        await stack.on_the_server(lambda s: s.knowledge_imports.ended(librarian.tenant_id, job_id))
        done = await librarian.pages.get(sent.headers["location"])
        assert 'data-state="done"' in done.text
        result = re.search(r'<p class="notice" id="upload-result">(.*?)</p>', done.text)
        assert result is not None
        assert result[1] == "Version 1: 3 passages from <strong>faq.csv</strong>, live now."
        state = await librarian.pages.get(f"{librarian.path}/imports/{job_id}.json")
        assert state.headers["cache-control"] == "no-store"
        assert state.json() == {
            "id": job_id,
            "state": "done",
            "source": "faq.csv",
            "progress": {"done": 3, "total": 3},
            "outcome": {
                "version": 1,
                "published": True,
                "imported": 3,
                "quarantined": 0,
                "errors": [],
            },
            "error": None,
        }
        # Without `?import=`, the page lists it among the latest imports.
        assert f'data-import="{job_id}"' in (await librarian.page()).text


async def test_the_same_form_sent_twice_makes_one_job_and_both_answers_show_it(
    stack: Stack,
) -> None:
    async with httpx.AsyncClient(base_url=stack.url) as client:
        librarian = Librarian(stack, client)
        await librarian.arrive()
        page = await librarian.page()
        first = await librarian.send(page, "faq.csv", seed.SAMPLE_FAQ)
        second = await librarian.send(page, "faq.csv", seed.SAMPLE_FAQ)
        assert job_of(first) == job_of(second)
        jobs = await stack.services.knowledge_imports.recent(librarian.tenant_id)
        assert [j.job_id for j in jobs] == [job_of(first)]
        # A fresh page has a fresh token: sending it again is a new upload.
        await stack.on_the_server(
            lambda s: s.knowledge_imports.ended(librarian.tenant_id, job_of(first))
        )
        third = await librarian.send(await librarian.page(), "faq.csv", seed.SAMPLE_FAQ)
        assert job_of(third) != job_of(first)


async def test_a_file_of_a_refused_type_is_refused_on_the_page_and_makes_no_job(
    stack: Stack,
) -> None:
    async with httpx.AsyncClient(base_url=stack.url) as client:
        librarian = Librarian(stack, client)
        await librarian.arrive()
        answer = await librarian.send(await librarian.page(), "faq.csv", b"PK\x03\x04not a csv")
    assert answer.status_code == 200
    assert 'class="error" role="alert"' in answer.text
    assert await stack.services.knowledge_imports.recent(librarian.tenant_id) == []


async def test_t41_following_an_import_never_extends_the_session_and_stays_in_its_organisation(
    tmp_path: Path, sqlite_url: str
) -> None:
    """T-41: the page's script asks for the job's state every second for as long as the import
    runs; that is not the person's doing, so it never counts as a use of the session. T-30:
    another organisation's job is not found by its id."""
    clock = PinnableClock()
    async with running_stack(tmp_path, sqlite_url, clock=clock) as stack:
        other = await seed.organisation(stack.services, name="Other", faq=None)
        theirs, _ = await stack.services.knowledge_imports.submit(
            other.tenant_id, "faq.csv", seed.SAMPLE_FAQ, actor=seed.ACTOR
        )
        async with httpx.AsyncClient(base_url=stack.url) as client:
            librarian = Librarian(stack, client)
            await librarian.arrive()
            job_id = job_of(await librarian.send(await librarian.page(), "f.csv", seed.SAMPLE_FAQ))
            state = f"{librarian.path}/imports/{job_id}.json"

            async def last_seen() -> list[datetime]:
                async with stack.services.db.read() as conn:
                    rows = await conn.execute(select(account_sessions.c.last_seen_at))
                    return [row[0] for row in rows]

            # Long enough later that any request of the person's own counts as a use.
            clock.pinned = utcnow() + timedelta(minutes=5)
            before = await last_seen()
            assert (await librarian.pages.get(state)).json()["id"] == job_id
            assert await last_seen() == before  # T-41: the page's script is not the person
            await librarian.page()
            assert await last_seen() != before  # … and the page itself is
            clock.pinned = None

            # Another organisation's job, by its id in this organisation's path: not found.
            assert (
                await librarian.pages.get(f"{librarian.path}/imports/{theirs.job_id}.json")
            ).status_code == 404
            # Another organisation's path: not this person's.
            elsewhere = f"/dashboard/o/{other.tenant_id}/knowledge/imports/{theirs.job_id}.json"
            assert (await librarian.pages.get(elsewhere)).status_code in (403, 404)
            signed_out = await client.get(state)
        assert signed_out.status_code == 303
        assert signed_out.headers["location"] == "/dashboard/login"
