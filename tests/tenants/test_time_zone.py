"""An organisation's time zone: the days and hours its reports are read in."""

from __future__ import annotations

import pytest

from parlour.errors import InvalidInput
from parlour.services import Services
from tests.support.seed import ACTOR


async def test_an_organisation_reads_its_days_in_utc_until_it_names_a_time_zone(
    services: Services,
) -> None:
    tenant = await services.tenants.create("Zoned Bank", actor=ACTOR)
    assert tenant.time_zone == "UTC"

    await services.tenants.set_time_zone(tenant.tenant_id, "Asia/Kolkata", actor=ACTOR)

    assert (await services.tenants.get(tenant.tenant_id)).time_zone == "Asia/Kolkata"
    [event] = await services.audit.recent(tenant.tenant_id, action_prefix="tenant.time_zone")
    assert event["data"] == {"time_zone": "Asia/Kolkata"}


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "../../etc/passwd", "UTC\n"])
async def test_a_name_outside_the_iana_database_is_refused(services: Services, name: str) -> None:
    tenant = await services.tenants.create("Unzoned Bank", actor=ACTOR)
    with pytest.raises(InvalidInput):
        await services.tenants.set_time_zone(tenant.tenant_id, name, actor=ACTOR)
