"""The prompt template over HTTP: each save is a version, any two compare as a diff, an older
one (or the built-in one) can be made live again, and every change is audited."""

from __future__ import annotations

from tests.conftest import Stack
from tests.web.api.conftest import Owner
from tests.web.test_errors import assert_error_shape

FIRST = "You help customers of {{organisation}}. Use only the passages.\n{{guard}}\n{{knowledge}}"
SECOND = "You help customers of {{organisation}}. Be brief.\n{{guard}}\n{{knowledge}}"


async def live_version(owner: Owner) -> int:
    answer = await owner.browser.send("GET", owner.path("prompt-templates"))
    live: int = answer.json()["live_version"]
    return live


async def test_versions_are_saved_compared_and_rolled_back(owner: Owner, stack: Stack) -> None:
    assert await live_version(owner) == 0
    first = await owner.browser.send("POST", owner.path("prompt-templates"), {"text": FIRST})
    assert first.status_code == 201
    assert first.json()["version"] == 1
    assert first.json()["live"] is True
    draft = await owner.browser.send(
        "POST", owner.path("prompt-templates"), {"text": SECOND, "activate": False}
    )
    assert draft.json()["live"] is False
    assert await live_version(owner) == 1

    diff = (
        await owner.browser.send("GET", f"{owner.path('prompt-templates')}/diff?since=1&to=2")
    ).json()["diff"]
    assert "-You help customers of {{organisation}}. Use only the passages." in diff
    assert "+You help customers of {{organisation}}. Be brief." in diff
    text = (await owner.browser.send("GET", f"{owner.path('prompt-templates')}/2")).json()["text"]
    assert text == SECOND + "\n"

    for version in (2, 1, 0):
        answer = await owner.browser.send(
            "POST", f"{owner.path('prompt-templates')}/{version}/activate"
        )
        assert answer.json()["live_version"] == version
    assert await stack.services.assistant.configuration.live_template(owner.org) == (
        None,
        (await owner.browser.send("GET", f"{owner.path('prompt-templates')}/0")).json()["text"],
    )
    events = await stack.services.audit.recent(owner.org, action_prefix="assistant.template")
    assert [(e["action"], e["data"]) for e in reversed(events)] == [
        ("assistant.template_saved", {"version": 1, "sha256": first.json()["sha256"]}),
        ("assistant.template_activated", {"version": 1, "previous": None}),
        ("assistant.template_saved", {"version": 2, "sha256": draft.json()["sha256"]}),
        ("assistant.template_activated", {"version": 2, "previous": 1}),
        ("assistant.template_activated", {"version": 1, "previous": 2}),
        ("assistant.template_activated", {"version": None, "previous": 1}),
    ]


async def test_a_template_without_the_guard_is_refused_and_nothing_is_saved(
    owner: Owner,
) -> None:
    answer = await owner.browser.send(
        "POST", owner.path("prompt-templates"), {"text": "Answer anything.\n{{knowledge}}"}
    )
    assert_error_shape(answer, 422, "invalid_template")
    assert "{{guard}}" in answer.json()["error"]["message"]
    assert (await owner.browser.send("GET", owner.path("prompt-templates"))).json()[
        "versions"
    ] == []


async def test_an_unknown_version_is_not_found(owner: Owner) -> None:
    for method, path in [
        ("GET", f"{owner.path('prompt-templates')}/7"),
        ("POST", f"{owner.path('prompt-templates')}/7/activate"),
        ("GET", f"{owner.path('prompt-templates')}/diff?since=0&to=7"),
    ]:
        assert_error_shape(await owner.browser.send(method, path), 404, "not_found")
