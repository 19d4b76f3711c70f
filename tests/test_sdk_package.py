"""The TypeScript SDK's package (sdk/js) as it is committed: what CI installs and ships. Its
behaviour is tested by its own suite (`make sdk-test`, node's test runner against a real server)."""

from __future__ import annotations

import json
import re
from pathlib import Path

SDK = Path(__file__).resolve().parents[1] / "sdk" / "js"
INSTALL_HOOKS = {"preinstall", "install", "postinstall", "prepare", "prepublish", "prepack"}
STORAGE = re.compile(
    r"localStorage|sessionStorage|AsyncStorage|async-storage|indexedDB|document\.cookie|console\."
)


def test_t107_the_sdk_ships_no_install_scripts_no_dependencies_and_a_lock_file() -> None:
    """T-107: `npm ci` installs exactly the committed lock, and installing the package runs
    nothing of its own nor pulls anything at run time."""
    manifest = json.loads((SDK / "package.json").read_text())
    lock = json.loads((SDK / "package-lock.json").read_text())

    assert INSTALL_HOOKS & set(manifest.get("scripts", {})) == set()
    assert manifest.get("dependencies", {}) == {}
    assert lock["lockfileVersion"] >= 3
    assert lock["packages"][""]["devDependencies"] == manifest["devDependencies"]
    assert not any(entry.get("hasInstallScript") for entry in lock["packages"].values())


def test_t107_the_sdks_source_names_no_storage_and_logs_nothing() -> None:
    """T-107: tokens stay in memory (no browser or React Native storage, no cookie) and are
    never logged; the SDK's own tests also run it with storage that fails if touched."""
    sources = sorted((SDK / "src").glob("*.ts"))
    found = [(path.name, m.group()) for path in sources for m in STORAGE.finditer(path.read_text())]

    assert sources
    assert found == []


def test_t107_a_token_is_sent_only_in_the_auth_and_reauth_frames() -> None:
    """T-107: the client's only frames that carry `token` are `auth` and `reauth`."""
    client = (SDK / "src" / "client.ts").read_text()
    carrying = re.findall(r'\{ type: "(\w+)", token\b', client)

    assert sorted(set(carrying)) == ["auth", "reauth"]
