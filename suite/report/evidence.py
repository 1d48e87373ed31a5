"""The evidence that convinced a check, shown with its result in the HTML report.

A check takes the `evidence` fixture and records what it saw:

    evidence.table("Staging labels", ["version", "before", "after"], rows)
    evidence.text("SSH transcript", transcript)
    evidence.expect("the old password is refused (MySQL error 1045)", f"MySQL error {code}")

Recording is cheap: nothing is rendered until the check's report is made, so a secret
registered later in the check is still masked (so are pytest-html's own `extras`).
`expect` with the same expectation again replaces what was found (record the pessimistic
finding first, the real one once known). A failing check also gets its expectations as a
report section, so the terminal shows them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from pytest_html import extras

from suite.report import html as reporthtml
from suite.redaction import REGISTRY


@dataclass(repr=False)
class Evidence:
    items: list[tuple[str, str, Any]] = field(default_factory=list)  # (kind, title, content) in order
    expectations: dict[str, str] = field(default_factory=dict)  # expected -> found

    def table(self, title: str, headers: list[str], rows: list[list[object]]) -> None:
        self.items.append(("table", title, (list(headers), [list(row) for row in rows])))

    def text(self, title: str, body: str) -> None:
        self.items.append(("text", title, body))

    def picture(self, title: str, svg: str) -> None:
        """An inline SVG the suite drew (suite/report/timeline.py) from numbers and its own labels."""
        self.items.append(("picture", title, svg))

    def expect(self, expected: str, found: str) -> None:
        self.expectations[expected] = found

    def __bool__(self) -> bool:
        return bool(self.items or self.expectations)

    def __repr__(self) -> str:
        # A failing check's traceback shows its arguments: a truncated repr could cut a secret
        # in two, and neither half would be masked. The evidence itself is in the report.
        return f"Evidence({len(self.items)} items, {len(self.expectations)} expectations)"

    def to_html(self, failed: bool) -> str:
        parts = []
        if self.expectations:
            rows = [[expected, found] for expected, found in self.expectations.items()]
            verdict = "failed" if failed else "passed"
            parts.append(f'<div class="evidence-expect evidence-{verdict}"><h4>In the workshop\'s words '
                         f'(check {verdict})</h4>{reporthtml.table(["Expected", "Found"], rows)}</div>')
        for kind, title, content in self.items:
            if kind == "table":
                body = reporthtml.table(*content)
            elif kind == "picture":
                body = f'<div class="evidence-picture">{REGISTRY.mask(content)}</div>'
            else:
                body = f"<pre>{reporthtml.text(content)}</pre>"
            parts.append(f"<h4>{reporthtml.text(title)}</h4>{body}")
        return f'<div class="evidence">{"".join(parts)}</div>'

    def expectations_text(self) -> str:
        return REGISTRY.mask("\n".join(f"expected: {expected}\n   found: {found}"
                                       for expected, found in self.expectations.items()))


EVIDENCE_KEY = pytest.StashKey[Evidence]()


@pytest.fixture()
def evidence(request: pytest.FixtureRequest) -> Evidence:
    """What this check saw: tables, transcripts, and what was expected against what was found."""
    request.node.stash[EVIDENCE_KEY] = Evidence()
    return request.node.stash[EVIDENCE_KEY]


# trylast: innermost, so suite.redaction's wrapper, outside it, masks these extras again.
@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    report = yield
    seen = item.stash.get(EVIDENCE_KEY, None)
    if report.when == "call" and seen:
        report.extras = [*getattr(report, "extras", []), extras.html(seen.to_html(report.failed))]
        if report.failed and seen.expectations:
            report.sections.append(("Evidence: expected and found", seen.expectations_text()))
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """pytest-html's own `extras` fixture joins the report after suite.redaction has masked it
    (its wrapper is outermost), and text extras are then base64-encoded: mask them before that."""
    for extra in getattr(report, "extras", None) or []:
        if isinstance(extra.get("content"), str):
            extra["content"] = REGISTRY.mask(extra["content"])
