"""/v1/knowledge/imports: an organisation's backend (or a member) sends a file to import in the
background and follows the job: 202 with the job at once, then its progress and outcome; bad
input in the one JSON error shape; a retried request with the same Idempotency-Key makes no
second job; another organisation's job is not found."""

from __future__ import annotations

import httpx

from parlour.keys.models import Scope
from tests.conftest import Stack
from tests.support import seed
from tests.web.api.conftest import Owner
from tests.web.test_errors import assert_error_shape

WRITE = (Scope.WRITE_KNOWLEDGE,)
FAQ = b"question,answer\nWhen are you open?,Every day.\n,no question\n"


async def call(
    stack: Stack,
    method: str,
    path: str,
    api_key: str,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=stack.url, timeout=10) as client:
        return await client.request(
            method,
            path,
            content=content,
            headers={"Authorization": f"Bearer {api_key}"} | (headers or {}),
        )


async def test_an_import_is_accepted_with_its_job_and_followed_to_its_outcome(
    stack: Stack,
) -> None:
    org = await seed.organisation(stack.services, faq=None, scopes=WRITE)
    answer = await call(stack, "POST", "/v1/knowledge/imports?name=faq.csv", org.api_key, FAQ)
    assert answer.status_code == 202
    job = answer.json()
    assert answer.headers["location"] == f"/v1/knowledge/imports/{job['id']}"
    assert job["state"] == "queued"
    assert (job["source"], job["kind"], job["publish"]) == ("faq.csv", "faq_csv", True)
    assert job["progress"] == {"done": 0, "total": 0}
    assert (job["outcome"], job["error"]) == (None, None)
    assert job["links"] == {
        "self": f"/v1/knowledge/imports/{job['id']}",
        "versions": "/v1/knowledge/versions",
        "review_queue": "/v1/knowledge/review-queue",
    }

    await stack.on_the_server(lambda s: s.knowledge_imports.ended(org.tenant_id, job["id"]))
    done = (await call(stack, "GET", job["links"]["self"], org.api_key)).json()
    assert done["state"] == "done"
    assert done["progress"] == {"done": 1, "total": 1}
    assert done["outcome"] == {
        "version": 1,
        "published": True,
        "imported": 1,
        "errors": [{"line": 3, "message": "the question is empty"}],
        "quarantined": 0,
    }
    assert done["attempts"] == 1
    listed = (await call(stack, "GET", "/v1/knowledge/imports", org.api_key)).json()
    assert [j["id"] for j in listed] == [job["id"]]
    [hit] = await stack.services.knowledge.search(org.tenant_id, "open", limit=1)
    assert hit.entry.answer == "Every day."


async def test_a_retried_request_with_the_same_idempotency_key_makes_no_second_job(
    stack: Stack,
) -> None:
    org = await seed.organisation(stack.services, faq=None, scopes=WRITE)
    key = {"Idempotency-Key": "upload-42"}
    path = "/v1/knowledge/imports?name=faq.csv&publish=false"
    first = await call(stack, "POST", path, org.api_key, FAQ, key)
    again = await call(stack, "POST", path, org.api_key, FAQ, key)
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json()["id"] == first.json()["id"]
    assert first.json()["publish"] is False
    assert len(await stack.services.knowledge_imports.recent(org.tenant_id)) == 1
    other_file = await call(stack, "POST", path, org.api_key, FAQ + b"More?,Yes.\n", key)
    assert_error_shape(other_file, 409, "conflict")


async def test_bad_input_is_refused_in_the_error_shape_before_any_job(stack: Stack) -> None:
    """T-60, T-62: a spoofed type and an oversized body are refused in the request, before a
    job or its sealed file exists."""
    org = await seed.organisation(stack.services, faq=None, scopes=WRITE)
    imports = "/v1/knowledge/imports"
    refused = {
        "a zip as a csv": (f"{imports}?name=faq.csv", b"PK\x03\x04zip", 415),
        "no name": (imports, FAQ, 422),
        "a path for a name": (f"{imports}?name=a%2Fb.csv", FAQ, 422),
    }
    for what, (path, body, status) in refused.items():
        answer = await call(stack, "POST", path, org.api_key, body)
        assert answer.status_code == status, what
        assert set(answer.json()) == {"error"}, what
    bad_key = await call(
        stack, "POST", f"{imports}?name=faq.csv", org.api_key, FAQ, {"Idempotency-Key": "a b"}
    )
    assert_error_shape(bad_key, 422, "invalid_input")
    limit = stack.services.knowledge.max_upload_bytes
    too_large = await call(
        stack, "POST", f"{imports}?name=faq.csv", org.api_key, b"x" * (limit + 1)
    )
    assert_error_shape(too_large, 413, "payload_too_large")
    assert await stack.services.knowledge_imports.recent(org.tenant_id) == []


async def test_another_organisations_job_is_not_found(stack: Stack) -> None:
    a = await seed.organisation(stack.services, name="A", faq=None, scopes=WRITE)
    b = await seed.organisation(stack.services, name="B", faq=None, scopes=WRITE)
    job = (await call(stack, "POST", "/v1/knowledge/imports?name=faq.csv", a.api_key, FAQ)).json()
    answer = await call(stack, "GET", f"/v1/knowledge/imports/{job['id']}", b.api_key)
    assert_error_shape(answer, 404, "not_found")
    assert (await call(stack, "GET", "/v1/knowledge/imports", b.api_key)).json() == []


async def test_a_member_imports_and_follows_the_job_in_their_organisation(
    stack: Stack, owner: Owner
) -> None:
    answer = await owner.client.post(
        owner.path("knowledge/imports?name=faq.csv"),
        content=FAQ,
        headers={
            "cookie": f"__Host-parlour_session={owner.browser.cookie}",
            "x-csrf-token": owner.browser.csrf or "",
        },
    )
    assert answer.status_code == 202, answer.text
    job = answer.json()
    assert job["links"]["self"] == owner.path(f"knowledge/imports/{job['id']}")
    assert job["links"]["review_queue"] == owner.path("review-queue")
    await stack.on_the_server(lambda s: s.knowledge_imports.ended(owner.org, job["id"]))
    done = await owner.browser.send("GET", job["links"]["self"])
    assert done.json()["outcome"]["imported"] == 1
    audited = await owner.browser.send("GET", owner.path("audit?action=knowledge.import"))
    assert [e["action"] for e in audited.json()] == [
        "knowledge.import_ended",
        "knowledge.import_started",
    ]
