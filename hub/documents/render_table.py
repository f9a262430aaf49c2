"""A table element: a shaded header row, a grid, one row per item of the page's slice of rows.

Row heights are fixed (cells shrink or wrap their text instead of growing), so a designer knows
from `rows_per_page` alone how many rows a page holds; the page loop in render_canvas sends the
rows beyond that to the next page. With `pad_rows` the grid always has `rows_per_page` rows, the
empty ones left blank, like the pre-printed forms. A cell whose value renders empty prints
`empty` (default "-"), so a missing datum is visibly missing rather than forgotten.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import accumulate
from typing import Any

from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from hub.documents.render_layout import Element
from hub.documents.render_text import color, draw_in_box


def draw_table(
    canvas: Canvas,
    element: Element,
    context: Mapping[str, Any],
    rows: Sequence[Any],
    *,
    first_number: int,
    left: float,
    top: float,
) -> None:
    """Draw the header and `rows`; the first of them is row number `first_number` overall."""
    edges = [left, *(left + width for width in accumulate(c.width * mm for c in element.columns))]
    header, height = element.mm("header_height"), element.mm("row_height")
    count = int(element.spec["rows_per_page"]) if element.spec.get("pad_rows") else len(rows)
    _grid(canvas, element, edges, top, header, [top - header - i * height for i in range(count + 1)])
    _header(canvas, element, edges, top, header)
    for index, row in enumerate(rows):
        _row(canvas, element, context, row, first_number + index, edges, top - header - index * height)


def _grid(
    canvas: Canvas, element: Element, edges: Sequence[float], top: float, header: float, rules: Sequence[float]
) -> None:
    """The header's shading, the column rules and a rule under every row."""
    canvas.saveState()
    if element.spec.get("header_fill"):
        canvas.setFillColor(color(str(element.spec["header_fill"])))
        canvas.rect(edges[0], top - header, edges[-1] - edges[0], header, stroke=0, fill=1)
    canvas.setLineWidth(float(element.spec.get("stroke", 0.4)))
    canvas.setStrokeColor(color(element.style.color))
    path = canvas.beginPath()
    for y in (top, *rules):
        path.moveTo(edges[0], y)
        path.lineTo(edges[-1], y)
    for x in edges:
        path.moveTo(x, top)
        path.lineTo(x, rules[-1])
    canvas.drawPath(path, stroke=1, fill=0)
    canvas.restoreState()


def _header(canvas: Canvas, element: Element, edges: Sequence[float], top: float, height: float) -> None:
    style = element.header_style or element.style
    for column, x, next_x in zip(element.columns, edges, edges[1:], strict=False):
        draw_in_box(
            canvas,
            column.title,
            style,
            left=x,
            top=top,
            width=next_x - x,
            height=height,
            padding=element.mm("padding", 0.8),
            align=style.align,
        )


def _row(
    canvas: Canvas,
    element: Element,
    context: Mapping[str, Any],
    row: Any,
    number: int,
    edges: Sequence[float],
    top: float,
) -> None:
    empty = str(element.spec.get("empty", "-"))
    for column, x, next_x in zip(element.columns, edges, edges[1:], strict=False):
        text = column.value.render(context, row=row, row_number=number).strip() or empty
        draw_in_box(
            canvas,
            text,
            element.style,
            left=x,
            top=top,
            width=next_x - x,
            height=element.mm("row_height"),
            padding=element.mm("padding", 0.8),
            align=column.align,
        )
