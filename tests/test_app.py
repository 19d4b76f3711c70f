"""The assembled application: what starting it leaves behind."""

from __future__ import annotations

import gc
from pathlib import Path

from tests.conftest import running_stack


async def test_a_started_app_takes_its_long_lived_objects_out_of_garbage_collection(
    tmp_path: Path, sqlite_url: str
) -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    async with running_stack(tmp_path, sqlite_url):
        assert gc.get_freeze_count() > 0
