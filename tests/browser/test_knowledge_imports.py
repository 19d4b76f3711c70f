"""An upload on the knowledge page in real headless Chromium (issue 23's acceptance): the page
follows the background import's progress step by step without a reload, then shows its outcome;
a double press of the button makes one job, and so does the same form sent twice at once.

The server's importer is paced by the test: after each step of progress it waits for the test's
go-ahead (bounded), so each step is seen on the page, with no sleep and no timing."""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, expect

from parlour.knowledge.import_models import ImportJob
from parlour.services import Services
from tests.browser.test_dashboard import log_in_and_enrol, shot
from tests.browser.test_demo_widget import WAIT_MS, browser  # noqa: F401
from tests.conftest import Stack
from tests.support.accounts import PASSWORD, mailed_token

pytestmark = pytest.mark.browser


def faq_of(rows: int, prefix: str) -> str:
    return "question,answer\n" + "".join(
        f"{prefix} question {i}?,{prefix} answer {i}.\n" for i in range(rows)
    )


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:  # noqa: F811
    context = await browser.new_context()
    opened = await context.new_page()
    yield opened
    await context.close()


async def test_an_upload_shows_its_progress_and_outcome_and_a_double_submit_makes_one_job(
    stack: Stack, page: Page, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused: list[str] = []
    page.on(
        "console",
        lambda m: refused.append(m.text) if _is_csp_violation(m) else None,
    )
    email = f"librarian-{secrets.token_hex(4)}@harbour.example"
    await stack.services.signup.sign_up(email, PASSWORD, "Harbour Bank", source_ip=None)
    outbox = stack.services.settings.data_dir / "outbox"
    await stack.services.email_verification.verify(mailed_token(outbox, email), source_ip=None)
    await log_in_and_enrol(page, stack.url, email, name=None)
    await page.get_by_role("link", name="Knowledge").click()
    tenant_id = page.url.split("/dashboard/o/")[1].split("/")[0]

    # The server's importer waits for a go-ahead after each step of progress.
    served: Services = stack.app.state.services
    steps = threading.Semaphore(0)
    recorded = served.knowledge_imports.progressed

    async def paced(job: ImportJob, done: int, total: int) -> None:
        await recorded(job, done, total)
        await asyncio.to_thread(steps.acquire, True, WAIT_MS / 1000)

    monkeypatch.setattr(served.knowledge_imports, "progressed", paced)

    faq = tmp_path / "faq.csv"
    faq.write_text(faq_of(300, "First"))
    await page.get_by_label("FAQ (CSV or JSON)").set_input_files(faq)
    await page.get_by_role("button", name="Upload and publish").click()
    state = page.locator("#import-state")
    bar = page.locator("#import-progress")
    await expect(state).to_have_text("0 of 300 passages screened and embedded.", timeout=WAIT_MS)
    await page.evaluate("window.__not_reloaded = true")
    steps.release()
    await expect(state).to_have_text("256 of 300 passages screened and embedded.", timeout=WAIT_MS)
    await expect(bar).to_have_attribute("value", "256")
    await shot(page, "knowledge-import-progress")
    steps.release()
    await expect(state).to_have_text(
        "300 of 300 passages screened and embedded; storing the new version.", timeout=WAIT_MS
    )
    steps.release()
    await expect(page.locator("#upload-result")).to_have_text(
        "Version 1: 300 passages from faq.csv, live now.", timeout=WAIT_MS
    )
    await expect(state).to_have_text("Done.")
    await expect(bar).to_be_hidden()
    assert await page.evaluate("window.__not_reloaded") is True  # followed without a reload
    await shot(page, "knowledge-import-done")
    await page.get_by_role("link", name="Show version 1 among the versions").click()
    await expect(page.get_by_role("row").filter(has_text="faq.csv").first).to_contain_text("yes")
    steps.release(1000)  # the rest of the test's imports go on unpaced

    # A double press of the button: one job, and the page follows it.
    await page.get_by_role("link", name="Knowledge").click()
    second = tmp_path / "second.csv"
    second.write_text(faq_of(3, "Second"))
    await page.get_by_label("FAQ (CSV or JSON)").set_input_files(second)
    await page.get_by_role("button", name="Upload and publish").dblclick()
    await expect(page.locator("#upload-result")).to_have_text(
        "Version 2: 3 passages from second.csv, live now.", timeout=WAIT_MS
    )
    jobs = await stack.services.knowledge_imports.recent(tenant_id)
    assert [j.name for j in jobs] == ["second.csv", "faq.csv"]

    # The same form sent twice at once (its token and file both times): one job, both answers
    # are its page.
    await page.get_by_role("link", name="Knowledge").click()
    third = tmp_path / "third.csv"
    third.write_text(faq_of(2, "Third"))
    await page.get_by_label("FAQ (CSV or JSON)").set_input_files(third)
    landed = await page.evaluate(
        """async () => {
            const form = document.getElementById("upload-form");
            const sent = new FormData(form);
            const answers = await Promise.all([
                fetch(form.action, { method: "POST", body: sent }),
                fetch(form.action, { method: "POST", body: sent }),
            ]);
            return answers.map((a) => [a.status, new URL(a.url).search]);
        }"""
    )
    jobs = await stack.services.knowledge_imports.recent(tenant_id)
    assert [j.name for j in jobs] == ["third.csv", "second.csv", "faq.csv"]
    assert landed == [[200, f"?import={jobs[0].job_id}"]] * 2
    await page.goto(f"{stack.url}/dashboard/o/{tenant_id}/knowledge?import={jobs[0].job_id}")
    await expect(page.locator("#upload-result")).to_have_text(
        "Version 3: 2 passages from third.csv, live now.", timeout=WAIT_MS
    )
    assert refused == []


def _is_csp_violation(message: ConsoleMessage) -> bool:
    return "Content Security Policy" in message.text
