"""What a page's own styles hide from a reader (T-65): text nobody sees on the page, but that
reaches the model (and the extractive answer) all the same.

An element's declarations come from its `style` attribute and from the rules of the page's
`<style>` elements that match it by tag, class or id; the attribute wins, as in a browser. They
hide its text when they:
- remove or make it invisible: `display: none`, `visibility: hidden`, `opacity: 0`, a font of a
  few pixels, white or transparent text, text the colour of its background;
- move it off-screen: large negative (or huge) offsets, margins, `text-indent` or translations;
- clip it away: `clip: rect(0 0 0 0)`, `clip-path: inset(50%)` or a zero circle or polygon,
  `transform: scale(0)`, a box of a pixel or less whose overflow is hidden.

Only the last compound of a selector is compared (`.a .b` matches every `.b`), which errs
towards reporting; rules for print or speech, and for states such as `:hover`, are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

_STYLE_ELEMENT = re.compile(r"<style\b[^>]*>(.*?)(?:</style\s*>|\Z)", re.IGNORECASE | re.DOTALL)
_CSS_COMMENT = re.compile(r"/\*.*?(?:\*/|\Z)", re.DOTALL)
_LENGTH = re.compile(r"^(-?\d*\.?\d+)(px|pt|pc|em|rem|ex|ch|%|vw|vh|vmin|vmax|cm|mm|in|q)?$")
_PIXELS = {
    "px": 1.0, "pt": 4 / 3, "pc": 16.0, "em": 16.0, "rem": 16.0, "ex": 8.0, "ch": 8.0,
    "vw": 12.0, "vh": 8.0, "vmin": 8.0, "vmax": 12.0, "cm": 37.8, "mm": 3.78, "in": 96.0,
    "q": 0.945, "": 1.0,
}  # fmt: skip
_WHITE = re.compile(
    r"^(?:white|#fff(?:f|fff|fffff)?|rgba?\(\s*255\s*,\s*255\s*,\s*255\s*(?:,\s*[\d.]+\s*)?\))$"
)
_TRANSPARENT = re.compile(
    r"^(?:transparent|(?:rgba|hsla)\([^)]*,\s*0?\.?0*\s*\)|#[0-9a-f]{6}00|#[0-9a-f]{3}0)$"
)
_OFFSETS = ("left", "top", "right", "bottom", "inset", "margin-left", "margin-top", "margin")
_OFF_SCREEN_PX = 500.0  # further left or up than this is off any screen
_FAR_PX = 5_000.0  # further right or down than this too
_NEVER_SHOWN = re.compile(r":(?:hover|focus|active|visited|target|checked)|::?(?:before|after)")
_SKIPPED_MEDIA = re.compile(r"\b(?:print|speech)\b")
_MAX_RULES = 5_000


def hiding(declarations: dict[str, str]) -> str | None:
    """How these declarations hide an element's text, or None when they do not."""
    get = declarations.get
    if get("display") == "none" or get("visibility") in ("hidden", "collapse"):
        return "hidden"
    if get("content-visibility") == "hidden":
        return "hidden"
    opacity = _number(get("opacity", ""))
    if opacity is not None and opacity <= 0.05:
        return "styled to be invisible"
    size = _pixels(get("font-size", ""))
    if size is not None and size <= 4:
        return "styled to be invisible"
    colour = get("color", "")
    if _WHITE.match(colour) or _TRANSPARENT.match(colour):
        return "styled to be invisible"
    background = get("background-color") or get("background", "")
    if colour and colour == background:
        return "the colour of its background"
    if reason := _moved_away(declarations):
        return reason
    return _clipped(declarations)


def _moved_away(declarations: dict[str, str]) -> str | None:
    for name in (*_OFFSETS, "text-indent"):
        for value in declarations.get(name, "").split():
            if _off_screen(value):
                return "moved off-screen"
    for arguments in re.findall(r"translate[xyz3d]*\(([^)]*)\)", _transform(declarations)):
        if any(_off_screen(a) for a in re.split(r"[\s,]+", arguments.strip())):
            return "moved off-screen"
    return None


def _clipped(declarations: dict[str, str]) -> str | None:
    clip = declarations.get("clip", "")
    if clip.startswith("rect("):
        sizes = [_pixels(v) for v in re.split(r"[\s,]+", clip[5:].rstrip(")").strip())]
        if sizes and all(s is not None and abs(s) <= 1 for s in sizes):
            return "clipped out of sight"
    if _clip_path_hides(declarations.get("clip-path", "")):
        return "clipped out of sight"
    for arguments in re.findall(r"scale[xyz3d]*\(([^)]*)\)", _transform(declarations)):
        factors = [_number(a) for a in re.split(r"[\s,]+", arguments.strip())]
        if any(f is not None and abs(f) <= 0.05 for f in factors):
            return "clipped out of sight"
    if declarations.get("overflow", declarations.get("overflow-x", "")) in ("hidden", "clip"):
        for name in ("width", "height", "max-width", "max-height"):
            size = _pixels(declarations.get(name, ""))
            if size is not None and size <= 1:
                return "clipped out of sight"
    return None


def _clip_path_hides(value: str) -> bool:
    match = re.match(r"(inset|circle|ellipse|polygon)\((.*)\)$", value)
    if match is None:
        return False
    function, arguments = match[1], match[2]
    if function == "polygon":
        points = {p.strip() for p in arguments.split(",") if p.strip()}
        return len(points) <= 2  # a point or a line has no area
    first = re.split(r"[\s,]+|\bat\b", arguments.strip())[0]
    if function == "inset":
        length = _LENGTH.match(first)
        return length is not None and length[2] == "%" and float(length[1]) >= 50
    radius = _pixels(first)
    return radius is not None and radius <= 1


def _transform(declarations: dict[str, str]) -> str:
    return declarations.get("transform", "") + " " + declarations.get("translate", "")


def _off_screen(value: str) -> bool:
    match = _LENGTH.match(value)
    if match is None:
        return False
    amount, unit = float(match[1]), match[2] or ""
    if unit == "%":
        return amount <= -100 or amount >= 1_000
    pixels = amount * _PIXELS[unit]
    return pixels <= -_OFF_SCREEN_PX or pixels >= _FAR_PX


def _number(value: str) -> float | None:
    try:
        return float(value.rstrip("%")) / (100 if value.endswith("%") else 1)
    except ValueError:
        return None


def _pixels(value: str) -> float | None:
    match = _LENGTH.match(value.strip())
    if match is None or match[2] == "%":
        return None
    return float(match[1]) * _PIXELS[match[2] or ""]


def declarations(style: str) -> dict[str, str]:
    """A declaration block, `color: red; left: -9999px !important`, as lower-case pairs."""
    found: dict[str, str] = {}
    for part in _CSS_COMMENT.sub("", style).split(";"):
        name, colon, value = part.partition(":")
        if colon:
            value = re.sub(r"\s*!\s*important\s*$", "", value.strip().lower())
            found[name.strip().lower()] = re.sub(r"\s+", " ", value)
    return found


@dataclass(frozen=True, slots=True)
class _Rule:
    order: int
    tag: str | None
    classes: frozenset[str]
    element_id: str | None
    declarations: dict[str, str]

    def matches(self, tag: str, classes: frozenset[str], element_id: str | None) -> bool:
        return (
            (self.tag is None or self.tag == tag)
            and self.classes <= classes
            and (self.element_id is None or self.element_id == element_id)
        )


@dataclass(slots=True)
class StyleSheet:
    """The rules of a page's `<style>` elements, looked up by an element's tag, classes, id."""

    _by_key: dict[str, list[_Rule]] = field(default_factory=dict)

    @classmethod
    def of_page(cls, markup: str) -> StyleSheet:
        sheet = cls()
        order = 0
        for css in _STYLE_ELEMENT.findall(markup):
            for selector, block in _rules(_CSS_COMMENT.sub("", css)):
                for compound in _last_compounds(selector):
                    if order == _MAX_RULES:
                        return sheet
                    rule = _rule(order, compound, declarations(block))
                    if rule is not None:
                        sheet._by_key.setdefault(_key(rule), []).append(rule)
                        order += 1
        return sheet

    def for_element(
        self, tag: str, classes: Sequence[str], element_id: str | None
    ) -> dict[str, str]:
        """The declarations the sheet gives an element, later rules winning."""
        wanted = frozenset(c.lower() for c in classes)
        element_id = element_id.lower() if element_id else None
        keys = ["*", f"tag:{tag}", *(f"class:{c}" for c in wanted)]
        if element_id:
            keys.append(f"id:{element_id}")
        rules = [
            r for k in keys for r in self._by_key.get(k, ()) if r.matches(tag, wanted, element_id)
        ]
        merged: dict[str, str] = {}
        for rule in sorted(rules, key=lambda r: r.order):
            merged.update(rule.declarations)
        return merged


def _rules(css: str) -> Iterable[tuple[str, str]]:
    """(selector, declarations) of every rule, inside @media blocks for screens too."""
    position, depth_skip = 0, 0
    stack: list[bool] = []  # for each open block: whether its rules are skipped
    prelude_start = 0
    while position < len(css):
        character = css[position]
        if character == "{":
            prelude = css[prelude_start:position].strip()
            if prelude.startswith("@"):
                skip = not prelude.lower().startswith(("@media", "@supports", "@layer")) or bool(
                    prelude.lower().startswith("@media") and _SKIPPED_MEDIA.search(prelude.lower())
                )
                stack.append(skip)
                depth_skip += skip
                prelude_start = position + 1
            else:
                end = css.find("}", position)
                if end == -1:
                    return
                if not depth_skip:
                    yield prelude, css[position + 1 : end]
                position = end
                prelude_start = end + 1
        elif character == "}":
            if stack:
                depth_skip -= stack.pop()
            prelude_start = position + 1
        elif character == ";" and css[prelude_start:position].strip().startswith("@"):
            prelude_start = position + 1  # @import, @charset
        position += 1


def _last_compounds(selector_list: str) -> Iterable[str]:
    for selector in selector_list.split(","):
        selector = selector.strip()
        if selector and not _NEVER_SHOWN.search(selector):
            yield re.split(r"\s*[\s>+~]\s*", selector)[-1]


def _rule(order: int, compound: str, block: dict[str, str]) -> _Rule | None:
    if not block:
        return None
    compound = re.sub(r"\[[^\]]*\]|::?[\w-]+(?:\([^)]*\))?", "", compound.lower())
    match = re.fullmatch(r"([a-z][a-z0-9-]*|\*)?((?:[.#][\w-]+)*)", compound)
    if match is None:
        return None
    tag = None if match[1] in (None, "*") else match[1]
    parts = re.findall(r"([.#])([\w-]+)", match[2])
    ids = [name for kind, name in parts if kind == "#"]
    return _Rule(
        order,
        tag,
        frozenset(name for kind, name in parts if kind == "."),
        ids[0] if ids else None,
        block,
    )


def _key(rule: _Rule) -> str:
    if rule.element_id:
        return f"id:{rule.element_id}"
    if rule.classes:
        return f"class:{min(rule.classes)}"
    return f"tag:{rule.tag}" if rule.tag else "*"
