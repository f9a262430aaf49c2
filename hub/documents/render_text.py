"""Plain text on the canvas: shrink-to-fit, word wrap and alignment in a box.

Registry names and addresses have no length limit, while a document's boxes do. A text that is
too wide first shrinks (down to its style's min_size), then wraps onto more lines: printing past
a box's edge is a layout flaw a designer can fix, cutting off a name would falsify the document.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cache

from reportlab.lib.colors import Color, HexColor
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from hub.documents.render_layout import Style

SIZE_STEP = 0.25  # points between the sizes shrink-to-fit tries
CAP_HEIGHT = 0.73  # Vera's capital height as a share of the font size, to centre text vertically


def fit_text(text: str, style: Style, width: float | None, height: float | None = None) -> tuple[float, list[str]]:
    """The largest size from style.size down to style.min_size at which `text` fits `width`:
    on one line when `height` is None, else in as many lines as `height` holds. If none fits,
    min_size with as many lines as it takes."""
    if width is None:
        return style.size, [text]
    lines: list[str] = [text]
    for size in _sizes(style):
        lines = wrap(text, style.font, size, width)
        if _fits(lines, leading(style, size), height):
            return size, lines
    return style.min_size, lines


def leading(style: Style, size: float) -> float:
    """The style's line spacing, scaled with the size actually used."""
    return style.leading * size / style.size


def _sizes(style: Style) -> Iterator[float]:
    size = style.size
    while size > style.min_size:
        yield size
        size -= SIZE_STEP
    yield style.min_size


def _fits(lines: Sequence[str], line_height: float, height: float | None) -> bool:
    if height is None:
        return len(lines) == 1
    return len(lines) * line_height <= height + 0.01


def wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Greedy word wrap; a word wider than the line is split between characters."""
    if stringWidth(text, font, size) <= width:
        return [text]
    lines: list[str] = []
    current = ""
    for word in text.split():
        for piece in _pieces(word, font, size, width):
            candidate = f"{current} {piece}" if current else piece
            if current and stringWidth(candidate, font, size) > width:
                lines.append(current)
                candidate = piece
            current = candidate
    if current:
        lines.append(current)
    return lines


def _pieces(word: str, font: str, size: float, width: float) -> list[str]:
    pieces = [""]
    for char in word:
        if pieces[-1] and stringWidth(pieces[-1] + char, font, size) > width:
            pieces.append("")
        pieces[-1] += char
    return pieces


def draw_lines(
    canvas: Canvas,
    lines: Sequence[str],
    style: Style,
    size: float,
    *,
    left: float,
    width: float | None,
    baseline: float,
    align: str | None = None,
) -> None:
    """Draw `lines` from `baseline` down, aligned in [left, left + width] (or at `left`)."""
    align = align or style.align
    step = leading(style, size)
    canvas.setFont(style.font, size)
    canvas.setFillColor(color(style.color))
    for index, line in enumerate(lines):
        y = baseline - index * step
        if align == "center":
            canvas.drawCentredString(left + (width or 0) / 2, y, line)
        elif align == "right":
            canvas.drawRightString(left + (width or 0), y, line)
        else:
            canvas.drawString(left, y, line)


def draw_in_box(
    canvas: Canvas,
    text: str,
    style: Style,
    *,
    left: float,
    top: float,
    width: float,
    height: float,
    padding: float,
    align: str,
) -> None:
    """Draw `text` fitted into a box and centred vertically in it (a table cell)."""
    inner = width - 2 * padding
    size, lines = fit_text(text, style, inner, height)
    step = leading(style, size)
    first = top - height / 2 + ((len(lines) - 1) * step - CAP_HEIGHT * size) / 2
    draw_lines(canvas, lines, style, size, left=left + padding, width=inner, baseline=first, align=align)


@cache
def color(hex_value: str) -> Color:
    return HexColor(hex_value)
