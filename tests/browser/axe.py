"""axe-core in the browser tests: inject it into a page and fail on serious or critical findings.

axe.min.js comes from the `axe-playwright-python` package on PyPI (installed by
`make install-test`), never from a CDN: CI has only what the registry gives it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import axe_playwright_python
from playwright.sync_api import Page

AXE_SCRIPT = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(
    encoding="utf-8"
)
# The rules of WCAG 2.1 A and AA and axe's best practices (landmarks, headings, region).
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
FAILING = ("serious", "critical")


def axe_version(page: Page) -> str:
    _inject(page)
    return str(page.evaluate("axe.version"))


def _inject(page: Page) -> None:
    # Through the DevTools protocol, so the page's Content-Security-Policy does not block it.
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE_SCRIPT)


def violations(page: Page, *, impacts: tuple[str, ...] = FAILING) -> list[dict[str, Any]]:
    """axe's violations on the page as it stands, those of the given impacts."""
    _inject(page)
    options = {"runOnly": {"type": "tag", "values": TAGS}, "resultTypes": ["violations"]}
    result = page.evaluate("(options) => axe.run(document, options)", options)
    return [v for v in result["violations"] if v.get("impact") in impacts]


def report(found: list[dict[str, Any]], where: str) -> str:
    """A readable list: each rule, its impact and help, and the elements that break it."""
    lines = [f"{len(found)} serious or critical accessibility violation(s) on {where}:"]
    for violation in found:
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']} "
            f"[{violation.get('helpUrl', '')}]"
        )
        for node in violation["nodes"][:10]:
            target = " ".join(str(t) for t in node.get("target", []))
            lines.append(f"    at {target}: {node.get('html', '')[:160]}")
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            if summary:
                lines.append(f"      {summary[:300]}")
        if len(violation["nodes"]) > 10:
            lines.append(f"    … and {len(violation['nodes']) - 10} more")
    return "\n".join(lines)


def assert_accessible(page: Page, where: str | None = None) -> None:
    """Fail with the list of violations when axe finds a serious or critical one."""
    found = violations(page)
    assert not found, report(found, where or page.url)
