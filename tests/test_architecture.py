"""docs/architecture.md leads: its layers are the ones import-linter enforces, and it describes
every package and top-level module of parlour."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "architecture.md").read_text()
SOURCE = ROOT / "src" / "parlour"


def between(marker: str) -> str:
    return DOC.split(f"<!-- {marker}: begin -->")[1].split(f"<!-- {marker}: end -->")[0]


def test_the_documented_layers_are_the_enforced_ones() -> None:
    documented = re.findall(r"^\d+\. `(.+)`$", between("layers"), flags=re.MULTILINE)
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (layers,) = [c["layers"] for c in contracts["contracts"] if c["type"] == "layers"]
    assert documented == layers


def test_every_package_and_module_is_described() -> None:
    described = set(re.findall(r"^\| `parlour\.(\w+)` \|", between("packages"), re.MULTILINE))
    present = {
        path.stem if path.is_file() else path.name
        for path in SOURCE.iterdir()
        if (path.suffix == ".py" and not path.stem.startswith("__"))
        or (path / "__init__.py").exists()
    }
    assert described == present
