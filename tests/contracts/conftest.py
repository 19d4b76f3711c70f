from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from parlour.services import Services, build_services
from tests.conftest import make_settings


@pytest.fixture
async def backend(database_url: str, tmp_path: Path) -> AsyncIterator[Services]:
    """Migrated services on each backend in turn."""
    built = build_services(make_settings(tmp_path, database_url=database_url))
    await built.migrate()
    yield built
    await built.aclose()
