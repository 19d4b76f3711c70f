"""T-95: every package is installed from the lock file at an exact version and a checked hash,
and the bill of materials lists what Parlour runs on, from the same lock."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _locked() -> list[dict[str, object]]:
    packages: list[dict[str, object]] = tomllib.loads((ROOT / "uv.lock").read_text())["package"]
    return packages


def _runtime_requirements() -> dict[str, str]:
    """Runtime packages and versions, as `uv export` reads them from the lock."""
    exported = subprocess.run(
        [
            ROOT / ".venv/bin/uv",
            "export",
            "--frozen",
            "--quiet",
            "--format",
            "requirements-txt",
            "--no-dev",
            "--no-emit-project",
            "--no-hashes",
            "--no-annotate",
            "--no-header",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    pins = [line.split(";")[0].strip() for line in exported.splitlines() if "==" in line]
    return dict(pin.split("==") for pin in pins)


def test_every_locked_package_has_an_exact_version_and_sha256_hashes() -> None:
    """T-95: `uv sync --frozen` (scripts/setup) installs exactly these, refusing other bytes."""
    registry = [p for p in _locked() if "registry" in p["source"]]  # type: ignore[operator]
    assert len(registry) > 50
    unpinned = []
    for package in registry:
        files = [package.get("sdist"), *package.get("wheels", [])]  # type: ignore[list-item]
        hashes = [f["hash"] for f in files if f]  # type: ignore[index]
        if not package.get("version") or not hashes:
            unpinned.append(package["name"])
        assert all(h.startswith("sha256:") and len(h) == 71 for h in hashes), package["name"]
    assert unpinned == []


def test_setup_installs_from_the_lock_file_only() -> None:
    """T-95: a changed pyproject.toml without a new lock fails the install, not drifts it."""
    setup = (ROOT / "scripts/setup").read_text()
    syncs = [
        line
        for line in setup.splitlines()
        if "uv sync" in line and not line.lstrip().startswith("#")
    ]
    assert syncs
    assert all("--frozen" in line for line in syncs)


def test_the_sbom_lists_every_runtime_dependency_with_version_hash_and_package_url(
    tmp_path: Path,
) -> None:
    """T-95"""
    out = tmp_path / "sbom.json"
    subprocess.run(
        [ROOT / "scripts/supply-chain", "sbom", out],
        cwd=ROOT,
        check=True,
        timeout=120,
        capture_output=True,
    )
    sbom = json.loads(out.read_text())
    assert sbom["bomFormat"] == "CycloneDX"
    listed = {c["name"].lower(): c for c in sbom["components"]}
    runtime = _runtime_requirements()
    assert "sqlalchemy" in runtime
    assert "pytest" not in runtime  # tools of the tests are not what Parlour runs on
    assert set(listed) == set(runtime)
    for name, version in runtime.items():
        component = listed[name]
        assert component["version"] == version
        assert component["purl"] == f"pkg:pypi/{name}@{version}"
        hashes = [h for ref in component["externalReferences"] for h in ref.get("hashes", [])]
        assert hashes
        assert all(h["alg"] == "SHA-256" for h in hashes)


def test_the_browser_tests_axe_core_comes_from_its_lock_file_and_runs_no_install_script() -> None:
    """T-95: the accessibility audit's engine (tests/browser/axe) is the one package its lock
    names, at an exact version with its sha512, installed by `npm ci --ignore-scripts`."""
    folder = ROOT / "tests/browser/axe"
    manifest = json.loads((folder / "package.json").read_text())
    lock = json.loads((folder / "package-lock.json").read_text())
    assert manifest.get("dependencies", {}) == {}
    assert manifest.get("scripts", {}) == {}
    assert lock["packages"][""]["devDependencies"] == manifest["devDependencies"]
    (version,) = manifest["devDependencies"].values()
    locked = {name: entry for name, entry in lock["packages"].items() if name}
    assert list(locked) == ["node_modules/axe-core"]
    assert locked["node_modules/axe-core"]["version"] == version
    assert locked["node_modules/axe-core"]["integrity"].startswith("sha512-")
    assert not locked["node_modules/axe-core"].get("hasInstallScript")
    installs = [
        line
        for line in (ROOT / "scripts/setup").read_text().splitlines()
        if re.search(r"\bnpm (ci|install|i)\b", line) and not line.lstrip().startswith("#")
    ]
    assert installs
    assert all("npm ci --ignore-scripts" in line for line in installs)
