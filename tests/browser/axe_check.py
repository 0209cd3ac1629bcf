"""axe-core in the browser tests: injected into the page by the test (never by index.html), run
with the WCAG 2.0/2.1 A and AA rules and the best practices, any violation failing the test.

axe-core is a devDependency of web_client/ (pinned in package.json); `npm ci` installs it,
and the server never serves node_modules/.
"""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import Page

AXE = Path(__file__).resolve().parents[2] / "web_client" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]

_RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return result.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => ({target: n.target.join(' '), html: n.html.slice(0, 200),
                                              summary: n.failureSummary}))}));
}"""


def axe_violations(page: Page) -> list[dict]:
    """The axe-core violations of the page as it is now."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    return page.evaluate(_RUN, TAGS)


def assert_no_violations(page: Page, where: str) -> None:
    violations = axe_violations(page)
    assert not violations, f"axe-core found violations on {where}:\n" + json.dumps(violations, indent=1)
