"""An organisation's owner, signed up and enrolled over HTTP, for the /v1 tests that act as one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from tests.conftest import Stack
from tests.support.accounts import Browser, signed_up_and_enrolled


@dataclass
class Owner:
    browser: Browser
    org: str
    email: str
    client: httpx.AsyncClient

    def path(self, rest: str) -> str:
        """A route of the owner's organisation: `path("origins")`."""
        return f"/v1/organisations/{self.org}/{rest}"


@pytest.fixture
async def owner(stack: Stack) -> AsyncIterator[Owner]:
    async with httpx.AsyncClient(base_url=stack.url) as client:
        browser = Browser(client)
        email, _codes = await signed_up_and_enrolled(stack, browser)
        (organisation,) = (await browser.send("GET", "/v1/organisations")).json()
        yield Owner(browser, organisation["tenant_id"], email, client)
