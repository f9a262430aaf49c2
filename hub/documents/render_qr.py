"""The QR code, drawn as vector rectangles from segno's module matrix.

Vector modules stay sharp at any print or zoom size and cost a few hundred bytes, where an image
would be resampled. The drawing works in module units: one transform maps the symbol's grid onto
the page, and each row's runs of dark modules become one `re` (rectangle) operator with integer
operands, all filled as a single path, so a rasteriser fills their union without hairline seams
between rows. Writing those operators directly keeps a ~1,500-rectangle symbol cheap to emit.

The error correction level is kept exactly as asked (no boosting) and segno picks the encoding
mode: the Base45 payloads of the hub fit QR's alphanumeric mode. segno also picks the mask by the
standard's penalty rules, the costly part, so the matrix is cached per payload: every page of a
multi-page document carries the same code.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache

import segno
from reportlab.lib.colors import black, white
from reportlab.pdfgen.canvas import Canvas


def draw_qr(
    canvas: Canvas, payload: str, *, left: float, top: float, size: float, border: int = 4, error: str = "M"
) -> None:
    """Draw the QR for `payload` in a `size` x `size` square (points, quiet zone included)
    whose top-left corner is at (left, top) in PDF coordinates."""
    matrix = qr_matrix(payload, error)
    module = size / (len(matrix) + 2 * border)
    canvas.saveState()
    canvas.setFillColor(white)
    canvas.rect(left, top - size, size, size, stroke=0, fill=1)
    canvas.setFillColor(black)
    canvas.translate(left + border * module, top - border * module)
    canvas.scale(module, -module)  # one unit per module, rows counted downwards
    canvas.addLiteral("\n".join(f"{start} {row} {length} 1 re" for row, start, length in _dark_runs(matrix)))
    canvas.addLiteral("f")
    canvas.restoreState()


QR_MASK = 4


@lru_cache(maxsize=32)
def qr_matrix(payload: str, error: str = "M") -> tuple[tuple[bool, ...], ...]:
    """The symbol's modules without the quiet zone, dark = True."""
    # A fixed mask: choosing the best of eight by the standard's penalty rules cost about 65 % of
    # an akta's rendering. Any mask is valid (the symbol's format information names it); pattern 4
    # (checkerboard of 2x3 blocks) keeps long runs rare for Base45 data, and scans as well in tests.
    code = segno.make(payload, error=error.lower(), micro=False, boost_error=False, mask=QR_MASK)
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
