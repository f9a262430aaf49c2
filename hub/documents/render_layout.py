"""Document layouts: the YAML files under templates/, read into compiled, validated values.

A layout is what a designer edits: the page, the fonts, named text styles and a list of elements
placed in millimetres from the top-left corner of the page. Every string an element prints is a
Jinja2 template (StrictUndefined, so a misspelt name fails the render instead of printing
nothing); document variants are `{% if %}` in the template, not branches in Python.

Element types and their keys (mm unless noted; sizes and strokes in points):

    text       x, y (baseline), text, [width]      one line; with a width it shrinks to
                                                   min_size, then wraps below the baseline
    paragraph  x, y (top), width, text, [max_height]  ReportLab paragraph markup (<b>, <i>, <br/>)
    flow       x, y, width, items: [{text, style, when}], [gap, max_height, min_scale]
                                                   paragraphs stacked top-down; shrunk together
                                                   until they fit max_height
    line       x1, y1, x2, y2, [stroke, color, dash]
    box        x, y, width, height, [stroke, color, fill, dash, radius]
    table      x, y, rows (expression), rows_per_page, header_height, row_height,
               columns: [{title, width, value, align}], [header_style, header_fill,
               padding, stroke, pad_rows, empty]      rows beyond rows_per_page go to the next
                                                   page; the document has as many pages as its
                                                   longest table needs
    qr         x, y, size, payload, [border, error]  size includes the quiet zone

Every element may also have `style` (plus inline font, size, leading, min_size, align, color),
`when` (a Jinja expression; false: not drawn) and `pages` (all, first, last, not_first, not_last).
Markup strings (paragraph, flow) escape &, < and > in every value they print.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any
from xml.sax.saxutils import escape

import yaml
from jinja2 import Environment, StrictUndefined, Template
from jinja2.environment import TemplateExpression
from reportlab.lib import pagesizes
from reportlab.lib.units import mm

from hub.documents.render_filters import FILTERS
from hub.documents.render_fonts import FontError, register_family, register_fonts

PAGE_SIZES = {"A4": pagesizes.A4, "A5": pagesizes.A5}
PAGE_SETS = ("all", "first", "last", "not_first", "not_last")
ALIGNMENTS = ("left", "center", "right", "justify")
FAMILY_ROLES = ("normal", "bold", "italic", "bold_italic")
REQUIRED = {
    "text": ("x", "y", "text"),
    "paragraph": ("x", "y", "width", "text"),
    "flow": ("x", "y", "width", "items"),
    "line": ("x1", "y1", "x2", "y2"),
    "box": ("x", "y", "width", "height"),
    "table": ("x", "y", "rows", "rows_per_page", "header_height", "row_height", "columns"),
    "qr": ("x", "y", "size", "payload"),
}
_STYLE_KEYS = ("font", "size", "leading", "min_size", "align", "color")


class LayoutError(ValueError):
    """A layout file that cannot work: a missing key, an unknown style, font or element type."""


@dataclass(frozen=True, slots=True)
class Style:
    font: str
    size: float  # points
    leading: float  # points between baselines
    min_size: float  # the smallest size shrink-to-fit may use
    align: str
    color: str  # "#rrggbb"


@dataclass(frozen=True, slots=True)
class Block:
    """One paragraph of a flow (or the only one of a paragraph element)."""

    text: Template
    style: Style
    when: TemplateExpression | None


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    width: float  # mm
    value: Template
    align: str


@dataclass(frozen=True, slots=True)
class Element:
    kind: str
    spec: Mapping[str, Any]  # the element's YAML mapping: positions and options
    style: Style
    text: Template | None = None
    blocks: tuple[Block, ...] = ()
    rows: TemplateExpression | None = None
    columns: tuple[Column, ...] = ()
    header_style: Style | None = None
    when: TemplateExpression | None = None
    pages: str = "all"

    def mm(self, key: str, default: float | None = None) -> float:
        """A length of the spec in points, given in millimetres."""
        value = self.spec.get(key, default)
        return float(value) * mm


@dataclass(frozen=True, slots=True)
class FontFamily:
    normal: str
    bold: str
    italic: str
    bold_italic: str


@dataclass(frozen=True, slots=True)
class Layout:
    name: str
    width: float  # points
    height: float
    family: FontFamily
    title: Template
    subject: Template
    elements: tuple[Element, ...]


@cache
def load_layout(name: str) -> Layout:
    """The shipped layout `templates/<name>.yaml`, parsed and compiled once per process."""
    text = resources.files("hub.documents").joinpath("templates", f"{name}.yaml").read_text("utf-8")
    return parse_layout(name, text)


def parse_layout(name: str, text: str) -> Layout:
    """A layout from YAML text; registers its fonts. LayoutError names what is wrong and where."""
    raw = yaml.safe_load(text)
    if not isinstance(raw, dict):
        raise LayoutError(f"{name}: a layout is a mapping")
    try:
        fonts = register_fonts(_section(name, raw, "fonts"))
    except FontError as error:
        raise LayoutError(f"{name}: {error}") from error
    family = _family(name, _section(name, raw, "font_family"), fonts)
    width, height = _page(name, _section(name, raw, "page"))
    styles = _section(name, raw, "styles")
    meta = _section(name, raw, "meta")
    parse = _Parser(name, styles, fonts, family.normal)
    elements = tuple(parse.element(i, e) for i, e in enumerate(_list(name, raw, "elements")))
    return Layout(
        name,
        width,
        height,
        family,
        parse.template(str(meta.get("title", ""))),
        parse.template(str(meta.get("subject", ""))),
        elements,
    )


def _section(name: str, raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = raw.get(key)
    if not isinstance(value, dict):
        raise LayoutError(f"{name}: `{key}` must be a mapping")
    return value


def _list(name: str, raw: Mapping[str, Any], key: str) -> Sequence[Any]:
    value = raw.get(key)
    if not isinstance(value, list):
        raise LayoutError(f"{name}: `{key}` must be a list")
    return value


def _page(name: str, page: Mapping[str, Any]) -> tuple[float, float]:
    size = PAGE_SIZES.get(str(page.get("size", "A4")).upper())
    orientation = page.get("orientation", "portrait")
    if size is None or orientation not in ("portrait", "landscape"):
        raise LayoutError(f"{name}: page size {page.get('size')!r} / {orientation!r} not supported")
    shaped = pagesizes.landscape(size) if orientation == "landscape" else pagesizes.portrait(size)
    return float(shaped[0]), float(shaped[1])


def _family(name: str, raw: Mapping[str, Any], fonts: frozenset[str]) -> FontFamily:
    """The four faces paragraph markup switches between with <b> and <i>."""
    faces = {role: str(raw.get(role, "")) for role in FAMILY_ROLES}
    unknown = [face for face in faces.values() if face not in fonts]
    if unknown:
        raise LayoutError(f"{name}: font_family names fonts not declared under `fonts`: {unknown}")
    register_family(**faces)
    return FontFamily(**faces)


def _environment(markup: bool) -> Environment:
    """Plain text prints values as they are; markup (paragraphs) escapes &, <, > in each value."""
    env = Environment(
        undefined=StrictUndefined,
        autoescape=False,  # noqa: S701 - PDF text, not HTML: markup values are escaped for ReportLab instead
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_escaped if markup else None,
    )
    env.filters.update(FILTERS)
    return env


def _escaped(value: Any) -> str:
    return escape(str(value))


_PLAIN = _environment(markup=False)
_MARKUP = _environment(markup=True)


class _Parser:
    """Turns one layout's element mappings into Elements, resolving styles and compiling strings."""

    def __init__(self, name: str, styles: Mapping[str, Any], fonts: frozenset[str], font: str) -> None:
        self.name, self.styles, self.fonts, self.font = name, styles, fonts, font

    def template(self, source: str, markup: bool = False) -> Template:
        return (_MARKUP if markup else _PLAIN).from_string(source)

    def expression(self, source: Any, where: str) -> TemplateExpression:
        if not isinstance(source, str) or not source.strip():
            raise LayoutError(f"{self.name}: {where} needs an expression")
        return _PLAIN.compile_expression(source, undefined_to_none=False)

    def element(self, index: int, raw: Any) -> Element:
        where = f"elements[{index}]"
        kind = raw.get("type") if isinstance(raw, dict) else None
        if kind not in REQUIRED:
            raise LayoutError(f"{self.name}: {where} has an unknown type {kind!r}")
        missing = [key for key in REQUIRED[kind] if key not in raw]
        if missing:
            raise LayoutError(f"{self.name}: {where} ({kind}) lacks {', '.join(missing)}")
        pages = raw.get("pages", "all")
        if pages not in PAGE_SETS:
            raise LayoutError(f"{self.name}: {where} has pages={pages!r}, not one of {PAGE_SETS}")
        when = self.expression(raw["when"], f"{where}.when") if "when" in raw else None
        return Element(
            kind=kind,
            spec=MappingProxyType(dict(raw)),
            style=self.style(raw, where),
            when=when,
            pages=pages,
            **self.parts(kind, raw, where),
        )

    def parts(self, kind: str, raw: Mapping[str, Any], where: str) -> dict[str, Any]:
        if kind in ("text", "qr"):
            return {"text": self.template(str(raw.get("text", raw.get("payload"))))}
        if kind == "paragraph":
            return {"blocks": (self.block(raw, where),)}
        if kind == "flow" and isinstance(raw["items"], list):
            return {"blocks": tuple(self.block(item, f"{where}.items[{i}]") for i, item in enumerate(raw["items"]))}
        if kind == "flow":
            raise LayoutError(f"{self.name}: {where}.items must be a list")
        if kind == "table":
            return self.table(raw, where)
        return {}

    def block(self, raw: Any, where: str) -> Block:
        if not isinstance(raw, dict) or "text" not in raw:
            raise LayoutError(f"{self.name}: {where} lacks text")
        when = self.expression(raw["when"], f"{where}.when") if "when" in raw else None
        return Block(self.template(str(raw["text"]), markup=True), self.style(raw, where), when)

    def table(self, raw: Mapping[str, Any], where: str) -> dict[str, Any]:
        if not isinstance(raw["columns"], list) or int(raw["rows_per_page"]) < 1:
            raise LayoutError(f"{self.name}: {where} needs a list of columns and rows_per_page >= 1")
        columns = tuple(self.column(c, f"{where}.columns[{i}]") for i, c in enumerate(raw["columns"]))
        header = self.style({"style": raw["header_style"]}, where) if "header_style" in raw else None
        return {"rows": self.expression(raw["rows"], f"{where}.rows"), "columns": columns, "header_style": header}

    def column(self, raw: Any, where: str) -> Column:
        if not isinstance(raw, dict) or "width" not in raw or "value" not in raw:
            raise LayoutError(f"{self.name}: {where} needs a width and a value")
        return Column(
            title=str(raw.get("title", "")),
            width=float(raw["width"]),
            value=self.template(str(raw["value"])),
            align=self.align(raw, where),
        )

    def align(self, raw: Mapping[str, Any], where: str) -> str:
        align = str(raw.get("align", "left"))
        if align not in ALIGNMENTS:
            raise LayoutError(f"{self.name}: {where} has align={align!r}, not one of {ALIGNMENTS}")
        return align

    def style(self, raw: Mapping[str, Any], where: str) -> Style:
        merged: dict[str, Any] = {"font": self.font, "size": 9, "align": "left", "color": "#000000"}
        if "style" in raw:
            if raw["style"] not in self.styles:
                raise LayoutError(f"{self.name}: {where} uses an unknown style {raw['style']!r}")
            merged.update(self.styles[raw["style"]])
        merged.update({key: raw[key] for key in _STYLE_KEYS if key in raw})
        if merged["font"] not in self.fonts:
            raise LayoutError(f"{self.name}: {where} uses font {merged['font']!r}, not declared under `fonts`")
        size = float(merged["size"])
        return Style(
            font=str(merged["font"]),
            size=size,
            leading=float(merged.get("leading", size * 1.2)),
            min_size=float(merged.get("min_size", size)),
            align=self.align(merged, where),
            color=str(merged["color"]),
        )
