"""The QR code, drawn as vector rectangles from segno's module matrix.

Vector modules stay sharp at any print or zoom size and cost a few hundred bytes, where an image
would be resampled. Each row's runs of dark modules become one rectangle, all of them in a single
filled path, so a rasteriser fills their union and leaves no hairline seams between rows.
The error correction level is kept exactly as asked (no boosting), and segno picks the encoding
mode: the Base45 payloads of the hub fit QR's alphanumeric mode.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache

import segno
from reportlab.lib.colors import white
from reportlab.pdfgen.canvas import Canvas


def draw_qr(canvas: Canvas, payload: str, *, left: float, top: float, size: float,
            border: int = 4, error: str = "M") -> None:
    """Draw the QR for `payload` in a `size` x `size` square (points, quiet zone included)
    whose top-left corner is at (left, top) in PDF coordinates."""
    matrix = qr_matrix(payload, error)
    module = size / (len(matrix) + 2 * border)
    canvas.saveState()
    canvas.setFillColor(white)
    canvas.rect(left, top - size, size, size, stroke=0, fill=1)
    canvas.setFillColorRGB(0, 0, 0)
    path = canvas.beginPath()
    for row, start, length in _dark_runs(matrix):
        x = left + (border + start) * module
        y = top - (border + row + 1) * module
        path.rect(x, y, length * module, module)
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.restoreState()


@lru_cache(maxsize=32)
def qr_matrix(payload: str, error: str = "M") -> tuple[tuple[bool, ...], ...]:
    """The symbol's modules without quiet zone, dark = True. Cached: choosing the mask is the
    costly part, and every page of a multi-page document carries the same code."""
    code = segno.make(payload, error=error.lower(), micro=False, boost_error=False)
    return tuple(tuple(bool(module) for module in row) for row in code.matrix)


def _dark_runs(matrix: Sequence[Sequence[bool]]) -> Iterator[tuple[int, int, int]]:
    """(row, first column, length) of every horizontal run of dark modules."""
    for row, modules in enumerate(matrix):
        start = None
        for column, dark in enumerate((*modules, False)):
            if dark and start is None:
                start = column
            elif not dark and start is not None:
                yield row, start, column - start
                start = None
