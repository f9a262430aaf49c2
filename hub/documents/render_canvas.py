"""Interprets a Layout on a ReportLab canvas: the generic half of the document renderer.

Knows nothing about akta or KK: it pages the layout (as many pages as its longest table needs),
renders each element's templates with the context plus `page_number` and `page_count`, and draws.
The output is deterministic: the canvas runs in invariant mode and the PDF's dates are the
document's own issue time, so the same input gives the same bytes on every run and machine.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jinja2.environment import TemplateExpression
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT, TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph

from hub.documents.render_layout import Element, Layout, LayoutError, Style
from hub.documents.render_qr import draw_qr
from hub.documents.render_table import draw_table
from hub.documents.render_text import color, draw_lines, fit_text

AUTHOR = "Dukcapil (hub)"
CREATOR = "hub document renderer"
_PARAGRAPH_ALIGN = {"left": TA_LEFT, "center": TA_CENTER, "right": TA_RIGHT, "justify": TA_JUSTIFY}
_SCALE_STEP = 0.05


@dataclass(frozen=True, slots=True)
class _Page:
    context: Mapping[str, Any]
    number: int
    height: float  # points

    def y(self, value: Any) -> float:
        """PDF's bottom-up coordinate of a distance in mm from the top of the page."""
        return self.height - float(value) * mm


def render_layout(layout: Layout, context: Mapping[str, Any], created: datetime) -> bytes:
    """The PDF of `layout` filled with `context`; `created` becomes its creation date."""
    buffer = io.BytesIO()
    canvas = _canvas(layout, context, buffer, created)
    count = page_count(layout, context)
    for number in range(1, count + 1):
        page = _Page({**context, "page_number": number, "page_count": count}, number, layout.height)
        for element in layout.elements:
            if _on_page(element.pages, number, count) and _applies(element.when, page.context):
                _DRAW[element.kind](canvas, element, page)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def page_count(layout: Layout, context: Mapping[str, Any]) -> int:
    """Pages needed so that every row of every table is printed (at least one)."""
    counts = [
        math.ceil(len(_rows(element, context)) / int(element.spec["rows_per_page"]))
        for element in layout.elements
        if element.kind == "table"
    ]
    return max([1, *counts])


def _canvas(layout: Layout, context: Mapping[str, Any], buffer: io.BytesIO, created: datetime) -> Canvas:
    canvas = Canvas(
        buffer,
        pagesize=(layout.width, layout.height),
        invariant=1,
        pageCompression=1,
        initialFontName=layout.family.normal,
        lang="id",
    )
    canvas.setTitle(layout.title.render(context).strip())
    canvas.setSubject(layout.subject.render(context).strip())
    canvas.setAuthor(AUTHOR)
    canvas.setCreator(CREATOR)
    stamp = pdf_date(created)
    canvas.setDateFormatter(lambda *_: stamp)
    return canvas


def pdf_date(moment: datetime) -> str:
    """A PDF date string (D:YYYYMMDDHHmmSS+HH'mm') of an aware or naive datetime."""
    text = f"D:{moment:%Y%m%d%H%M%S}"
    offset = moment.utcoffset()
    if offset is None:
        return text
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{text}{sign}{abs(minutes) // 60:02d}'{abs(minutes) % 60:02d}'"


def _on_page(pages: str, number: int, count: int) -> bool:
    return {
        "all": True,
        "first": number == 1,
        "last": number == count,
        "not_first": number > 1,
        "not_last": number < count,
    }[pages]


def _applies(when: TemplateExpression | None, context: Mapping[str, Any]) -> bool:
    return when is None or bool(when(context))


def _rows(element: Element, context: Mapping[str, Any]) -> Sequence[Any]:
    assert element.rows is not None
    rows = element.rows(context)
    if not isinstance(rows, Sequence) or isinstance(rows, str):
        raise LayoutError(f"table rows {element.spec['rows']!r} is not a list")
    return rows


def _draw_text(canvas: Canvas, element: Element, page: _Page) -> None:
    assert element.text is not None
    text = element.text.render(page.context).strip()
    if not text:
        return
    width = element.mm("width") if "width" in element.spec else None
    size, lines = fit_text(text, element.style, width)
    draw_lines(
        canvas, lines, element.style, size, left=element.mm("x"), width=width, baseline=page.y(element.spec["y"])
    )


def _draw_flow(canvas: Canvas, element: Element, page: _Page) -> None:
    """Paragraphs stacked from the top; all shrunk by the same factor until they fit max_height."""
    texts = [
        (block.style, text)
        for block in element.blocks
        if _applies(block.when, page.context) and (text := block.text.render(page.context).strip())
    ]
    width, gap = element.mm("width"), element.mm("gap", 2)
    limit = element.mm("max_height") if "max_height" in element.spec else math.inf
    scale, lowest = 1.0, float(element.spec.get("min_scale", 0.75))
    while True:
        paragraphs = [Paragraph(text, _paragraph_style(style, scale)) for style, text in texts]
        heights = [paragraph.wrap(width, page.height)[1] for paragraph in paragraphs]
        if sum(heights) + gap * max(len(heights) - 1, 0) <= limit or scale - _SCALE_STEP < lowest:
            break
        scale -= _SCALE_STEP
    top = page.y(element.spec["y"])
    for paragraph, height in zip(paragraphs, heights, strict=False):
        paragraph.drawOn(canvas, element.mm("x"), top - height)
        top -= height + gap


def _paragraph_style(style: Style, scale: float) -> ParagraphStyle:
    return ParagraphStyle(
        "block",
        fontName=style.font,
        fontSize=style.size * scale,
        leading=style.leading * scale,
        alignment=_PARAGRAPH_ALIGN[style.align],
        textColor=color(style.color),
    )


def _draw_line(canvas: Canvas, element: Element, page: _Page) -> None:
    canvas.saveState()
    _stroke(canvas, element)
    canvas.line(element.mm("x1"), page.y(element.spec["y1"]), element.mm("x2"), page.y(element.spec["y2"]))
    canvas.restoreState()


def _draw_box(canvas: Canvas, element: Element, page: _Page) -> None:
    canvas.saveState()
    stroke = _stroke(canvas, element)
    fill = element.spec.get("fill")
    if fill:
        canvas.setFillColor(color(str(fill)))
    width, height = element.mm("width"), element.mm("height")
    bottom = page.y(element.spec["y"]) - height
    radius = element.mm("radius", 0)
    if radius:
        canvas.roundRect(element.mm("x"), bottom, width, height, radius, stroke=stroke, fill=bool(fill))
    else:
        canvas.rect(element.mm("x"), bottom, width, height, stroke=stroke, fill=bool(fill))
    canvas.restoreState()


def _stroke(canvas: Canvas, element: Element) -> int:
    """Set the element's line width, colour and dash; 1 when it strokes at all."""
    width = float(element.spec.get("stroke", 0.5))
    canvas.setLineWidth(width)
    canvas.setStrokeColor(color(element.style.color))
    if "dash" in element.spec:
        canvas.setDash([float(part) for part in element.spec["dash"]])
    return int(width > 0)


def _draw_qr(canvas: Canvas, element: Element, page: _Page) -> None:
    assert element.text is not None
    payload = element.text.render(page.context)  # printed as is: Base45 may end with a space
    draw_qr(
        canvas,
        payload,
        left=element.mm("x"),
        top=page.y(element.spec["y"]),
        size=element.mm("size"),
        border=int(element.spec.get("border", 4)),
        error=str(element.spec.get("error", "M")),
    )


def _draw_table(canvas: Canvas, element: Element, page: _Page) -> None:
    per_page = int(element.spec["rows_per_page"])
    first = (page.number - 1) * per_page
    rows = _rows(element, page.context)[first : first + per_page]
    draw_table(
        canvas, element, page.context, rows, first_number=first + 1, left=element.mm("x"), top=page.y(element.spec["y"])
    )


_DRAW: dict[str, Callable[[Canvas, Element, _Page], None]] = {
    "text": _draw_text,
    "paragraph": _draw_flow,
    "flow": _draw_flow,
    "line": _draw_line,
    "box": _draw_box,
    "qr": _draw_qr,
    "table": _draw_table,
}
