"""The widget served is the widget built from its sources: the script in widget/dist is rebuilt
here (typecheck, then esbuild, from widget/src, the SDK's sources and the locale files) and
must come out byte for byte the same, so what ships is what the sources say and the build is
reproducible."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from parlour.web.widget import widget_script_bytes

WIDGET = Path(__file__).resolve().parents[1] / "widget"
BUILD_TIMEOUT_S = 180


def toolchain() -> str:
    """node, with the widget's locked build tools installed (scripts/setup --for-tests)."""
    node = shutil.which("node")
    missing = (
        "node is not installed"
        if node is None
        else "widget/node_modules is missing: cd widget && npm ci --ignore-scripts"
        if not (WIDGET / "node_modules" / "esbuild").is_dir()
        else ""
    )
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(missing, pytrace=False)
        pytest.skip(missing)
    assert node is not None
    return node


def test_the_served_widget_is_what_its_sources_build_to(tmp_path: Path) -> None:
    node = toolchain()
    typecheck = subprocess.run(
        [node, "node_modules/typescript/bin/tsc", "-p", "tsconfig.json", "--noEmit"],
        cwd=WIDGET,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        check=False,
    )
    assert typecheck.returncode == 0, typecheck.stdout + typecheck.stderr
    built = []
    for n in range(2):
        out = tmp_path / f"build-{n}" / "parlour-widget.js"
        subprocess.run(
            [node, "build.mjs", str(out)], cwd=WIDGET, check=True, timeout=BUILD_TIMEOUT_S
        )
        built.append(out.read_bytes())
    assert built[0] == built[1], "the build is not reproducible"
    assert built[0] == widget_script_bytes(), (
        "widget/dist is not what widget/src builds to: run scripts/freeze-widget and commit"
    )


def test_the_widget_stays_small() -> None:
    """The issue's budget: at most 25 KB gzipped."""
    import gzip

    assert len(gzip.compress(widget_script_bytes(), compresslevel=9)) <= 25 * 1024
