"""What the identity tests share: the account use cases on each backend in turn."""

from __future__ import annotations

from pathlib import Path

import pytest

from parlour.services import Services
from tests.support.accounts import Accounts, accounts_on


@pytest.fixture
def people(backend: Services, tmp_path: Path) -> Accounts:
    return accounts_on(backend, tmp_path)
