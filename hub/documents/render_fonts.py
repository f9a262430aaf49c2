"""The fonts the documents print with: TrueType files shipped inside ReportLab, registered by name.

Only ReportLab's own fonts folder is accepted (the Bitstream Vera family: Vera.ttf, VeraBd.ttf,
VeraIt.ttf, VeraBI.ttf). Those files travel with the installed package, so every machine measures
and lays out the same glyphs, and TrueType fonts are embedded in the PDF as subsets, unlike the
14 standard PDF fonts a viewer substitutes at will. Registration is process-wide (ReportLab's font
registry) and idempotent; a name already taken by another file is refused.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import reportlab
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT_DIR = os.path.join(os.path.dirname(reportlab.__file__), "fonts")


class FontError(ValueError):
    """A font file outside ReportLab's fonts folder, or a font name bound to another file."""


def register_fonts(fonts: Mapping[str, str]) -> frozenset[str]:
    """Register every `name: file` pair; returns the registered names."""
    for font_name, file_name in fonts.items():
        register_font(str(font_name), shipped_font(str(file_name)))
    return frozenset(str(font_name) for font_name in fonts)


def shipped_font(file_name: str) -> str:
    """The path of `file_name` in ReportLab's fonts folder (a bare file name, nothing else)."""
    path = os.path.join(FONT_DIR, file_name)
    if os.path.basename(file_name) != file_name or not file_name.endswith(".ttf") or not os.path.isfile(path):
        raise FontError(f"font file {file_name!r} is not a TrueType file in ReportLab's fonts folder")
    return path


def register_font(font_name: str, path: str) -> None:
    if font_name in pdfmetrics.getRegisteredFontNames():
        known = getattr(getattr(pdfmetrics.getFont(font_name), "face", None), "filename", None)
        if known != path:
            raise FontError(f"font name {font_name!r} is already registered for another file")
        return
    pdfmetrics.registerFont(TTFont(font_name, path))


def register_family(normal: str, bold: str, italic: str, bold_italic: str) -> None:
    """Tell paragraph markup which registered face <b>, <i> and <b><i> switch to."""
    pdfmetrics.registerFontFamily(normal, normal=normal, bold=bold, italic=italic, boldItalic=bold_italic)
