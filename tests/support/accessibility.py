"""axe-core in a test's browser: the engine the browser tests audit pages with (issue 24), at the
version tests/browser/axe/package-lock.json pins (`scripts/setup --for-tests` installs it with
`npm ci --ignore-scripts`).

The engine is added to a browser context as an init script (the DevTools protocol's "evaluate on
new document"), which the pages' Content-Security-Policy does not govern: the dashboard's and the
demo page's strict CSPs stay as they are served (no `bypass_csp`), so an audit sees the page a
visitor sees. axe reads open shadow roots, so the widget's own shadow tree is audited too."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Page

AXE = Path(__file__).resolve().parents[1] / "browser" / "axe" / "node_modules" / "axe-core"
# WCAG 2.0 and 2.1, levels A and AA, and axe's best practices.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
FAILING = {"serious", "critical"}


def axe_script() -> Path:
    """axe.min.js; a test without it skips, or fails where CI=true."""
    script = AXE / "axe.min.js"
    if not script.is_file():
        message = "axe-core is not installed (scripts/setup --for-tests installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return script


async def with_axe(context: BrowserContext) -> BrowserContext:
    """`context` with axe-core in every page it opens from now on."""
    await context.add_init_script(path=axe_script())
    return context


async def violations(page: Page) -> list[dict[str, Any]]:
    """axe's serious and critical violations of TAGS on the page as it is now, the widget's
    shadow tree included."""
    found: list[dict[str, Any]] = await page.evaluate(
        """async (tags) => {
            const results = await window.axe.run(document, {
                runOnly: { type: "tag", values: tags },
                resultTypes: ["violations"],
            });
            return results.violations;
        }""",
        TAGS,
    )
    return [violation for violation in found if violation["impact"] in FAILING]


def described(found: list[dict[str, Any]]) -> str:
    """One paragraph a violation: its rule, impact and help, then each node it found (shadow
    trees as `host >>> inner`) with what to fix."""
    lines: list[str] = []
    for violation in found:
        lines.append(
            f"{violation['id']} ({violation['impact']}): {violation['help']} "
            f"<{violation['helpUrl']}>"
        )
        for node in violation["nodes"]:
            target = " >>> ".join(
                part if isinstance(part, str) else " >>> ".join(part) for part in node["target"]
            )
            lines.append(f"  - {target}")
            lines.append(f"      {node['html'][:200]}")
            for reason in node.get("failureSummary", "").splitlines():
                lines.append(f"      {reason.strip()}")
    return "\n".join(lines)


async def assert_accessible(page: Page, where: str) -> None:
    """No serious or critical violation on the page now; else each one, readably."""
    found = await violations(page)
    assert not found, f"axe-core on {where}:\n{described(found)}"
