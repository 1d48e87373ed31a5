"""Small HTML pieces for the report. Every value is masked before it is escaped: once
escaped, a secret with `&` or `<` in it would no longer match its registered forms."""
from __future__ import annotations

import html
from typing import Iterable

from suite.redaction import REGISTRY


def text(value: object) -> str:
    return html.escape(REGISTRY.mask(str(value)))


def table(headers: Iterable[object], rows: Iterable[Iterable[object]], css_class: str = "",
          row_classes: Iterable[str] | None = None) -> str:
    classes = iter(row_classes or ())
    head = "".join(f"<th>{text(header)}</th>" for header in headers)
    body = "".join(f"<tr{_class(next(classes, ''))}>" + "".join(f"<td>{text(cell)}</td>" for cell in row) + "</tr>"
                   for row in rows)
    return f"<table{_class(css_class)}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _class(name: str) -> str:
    return f' class="{name}"' if name else ""
