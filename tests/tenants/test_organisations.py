"""What an organisation may be called: its name reaches mail subjects and pages."""

from __future__ import annotations

import pytest

from parlour.errors import InvalidInput
from parlour.services import Services
from tests.support.seed import ACTOR


@pytest.mark.parametrize(
    "name",
    ["", "   ", "x" * 201, "Acme\r\nBcc: victim@example.com", "Acme\u202eknaB", "Acme\x00"],
    ids=["empty", "blank", "too-long", "header-injection", "bidi-override", "nul"],
)
async def test_a_name_that_could_break_a_mail_or_a_page_is_refused(
    services: Services, name: str
) -> None:
    with pytest.raises(InvalidInput):
        await services.tenants.create(name, actor=ACTOR)


async def test_names_in_any_script_are_welcome(services: Services) -> None:
    for name in ("Zürcher Kantonalbank", "भारतीय स्टेट बैंक", "三菱UFJ銀行", "O'Brien & Sons"):
        assert (await services.tenants.create(name, actor=ACTOR)).name == name
