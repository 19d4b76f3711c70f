"""A source's page address (issue 23, item 5): only an https address with a host and no
credentials is kept, because customers are shown it as a link (T-70); its citations carry it."""

from __future__ import annotations

import pytest

from parlour.knowledge.source_urls import (
    MAX_CHARS,
    InvalidSourceUrl,
    checked_source_url,
    is_https_link,
)
from parlour.services import Services
from tests.support import seed
from tests.support.seed import ACTOR

REFUSED = [
    "javascript:alert(document.cookie)",
    "JavaScript://bank.example/%0Aalert(1)",
    "http://bank.example/help",
    "data:text/html;base64,PHNjcmlwdD4=",
    "vbscript:msgbox(1)",
    "ftp://bank.example/help",
    "//bank.example/help",
    "https://user:secret@bank.example/help",
    "https://token@bank.example/help",
    "https:///help",
    "https://",
    "https:bank.example/help",
    "https://bank.example\\@evil.example/",
    "https://bank .example/help",
    "https://bank.example/he lp",
    "https://bank.example/\u202egnp.exe",
    "https://bänk.example/help",
    "https://bank.example:port/help",
    "https://bank_example/help",
    "https://bank.example/" + "a" * MAX_CHARS,
]


@pytest.mark.parametrize("url", REFUSED)
def test_a_source_url_that_is_not_a_plain_https_address_is_refused(url: str) -> None:
    """T-70: no script, data or plain-http address, and no credentials, reach a link."""
    with pytest.raises(InvalidSourceUrl):
        checked_source_url(url)
    assert not is_https_link(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://bank.example/help/fees",
        "HTTPS://Bank.Example:8443/help?q=card%20fees#abroad",
        "https://xn--bnk-qla.example/",
    ],
)
def test_an_https_address_with_a_host_is_kept_as_given(url: str) -> None:
    assert checked_source_url(f"  {url} ") == url


def test_no_address_is_none() -> None:
    assert checked_source_url(None) is None
    assert checked_source_url("  ") is None


async def test_a_refused_address_stores_nothing(backend: Services) -> None:
    org = await seed.organisation(backend, faq=None)
    with pytest.raises(InvalidSourceUrl):
        await backend.knowledge.upload(
            org.tenant_id, "fees.md", b"# Fees\nFive pounds.\n", actor=ACTOR,
            source_url="javascript:alert(1)",
        )  # fmt: skip
    assert await backend.knowledge.versions(org.tenant_id) == []


async def test_a_sources_address_is_kept_with_it_and_carried_by_its_passages(
    backend: Services,
) -> None:
    org = await seed.organisation(backend)
    url = "https://bank.example/help/fees"
    report = await backend.knowledge.upload(
        org.tenant_id, "fees.md", b"# Card fees\nA card abroad costs nothing.\n", actor=ACTOR,
        source_url=url,
    )  # fmt: skip
    assert report.source.source_url == url
    [uploaded] = await backend.audit.recent(org.tenant_id, limit=1, action_prefix="knowledge.up")
    assert uploaded["data"]["source_url"] == url  # who set where citations link, audited
    [version, _] = await backend.knowledge.versions(org.tenant_id)
    assert {s.name: s.source_url for s in version.sources} == {"faq.csv": None, "fees.md": url}
    [fees] = await backend.knowledge.search(org.tenant_id, "card fees abroad", limit=1)
    assert fees.entry.url == url
    [hours] = await backend.knowledge.search(org.tenant_id, "opening hours", limit=1)
    assert hours.entry.url is None


async def test_an_entry_edited_in_the_dashboard_keeps_its_sources_page(backend: Services) -> None:
    org = await seed.organisation(backend, faq=None)
    url = "https://bank.example/help"
    faq = b"question,answer\nWhen are you open?,Monday to Friday.\nWhere are you?,In Leeds.\n"
    await backend.knowledge.upload(org.tenant_id, "faq.csv", faq, actor=ACTOR, source_url=url)
    entries = await backend.knowledge.faq_entries(org.tenant_id)
    entry = next(e for e in entries if e.question == "When are you open?")
    await backend.knowledge.editor.edit(
        org.tenant_id, entry.entry_id, question=entry.question, phrasings="",
        answer="Monday to Saturday.", actor=ACTOR,
    )  # fmt: skip
    [latest, _] = await backend.knowledge.versions(org.tenant_id)
    assert [s.source_url for s in latest.sources] == [url]
    [hit] = await backend.knowledge.search(org.tenant_id, "When are you open?", limit=1)
    assert (hit.entry.answer, hit.entry.url) == ("Monday to Saturday.", url)
