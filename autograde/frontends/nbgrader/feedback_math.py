"""Math in feedback pages without a script: the TeX of markdown cells becomes MathML.

nbgrader's feedback and formgrader templates load MathJax from a CDN, so a reader offline sees raw
TeX. This preprocessor (``HTMLExporter.preprocessors``, after nbconvert's sanitizing) writes each
``$…$`` and ``$$…$$`` of a markdown cell, outside code, as MathML, which browsers render
themselves; ``autograde/frontends/nbgrader/templates/{feedback,formgrade}/mathjax.html.j2`` drop the templates'
MathJax script.
The MathML is cleaned to MathML elements and layout attributes (no link, no script); a formula
that latex2mathml cannot convert stays as TeX.
"""

from __future__ import annotations

import re
from pathlib import Path

import nh3
from latex2mathml.converter import convert
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

#: The folder to put first in ``HTMLExporter.extra_template_basedirs`` (its ``feedback/``, ``formgrade/``).
TEMPLATES = Path(__file__).resolve().parent / "templates"

#: fenced blocks (closed by a fence at least as long) and code spans, left as they are
CODE = re.compile(r"(?ms)^(`{3,}|~{3,})[^\n]*\n.*?^\1[`~]*[ \t]*$|(`+)[^`].*?\2")
MATH = re.compile(r"(?<![\\$])\$\$(?P<block>.+?)(?<!\\)\$\$|(?<![\\$])\$(?P<inline>[^$\n]+?)(?<![\\$])\$", re.S)
MATHML_TAGS = {
    "math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msub", "msup", "msubsup", "mfrac",
    "msqrt", "mroot", "mover", "munder", "munderover", "mtable", "mtr", "mtd", "mstyle", "mpadded",
    "mphantom", "menclose", "merror", "mmultiscripts", "mprescripts", "none", "semantics",
}
MATHML_ATTRIBUTES = {
    "display", "mathvariant", "stretchy", "width", "height", "depth", "fence", "separator", "lspace",
    "rspace", "accent", "accentunder", "linethickness", "displaystyle", "scriptlevel", "columnalign",
    "rowalign", "columnspacing", "rowspacing", "columnlines", "rowlines", "frame", "notation",
    "minsize", "maxsize", "symmetric", "largeop", "movablelimits", "form",
}


def mathml(tex: str, display: str) -> str | None:
    """``tex`` as cleaned MathML (``display``: "inline" or "block"), or None if it cannot be converted."""
    try:
        markup = convert(tex.strip(), display=display)
    except Exception:  # noqa: BLE001 - latex2mathml raises many kinds; the TeX is kept instead
        return None
    return nh3.clean(markup, tags=MATHML_TAGS, attributes={"*": MATHML_ATTRIBUTES}, link_rel=None)


def _formulas(text: str) -> str:
    def one(match: re.Match) -> str:
        block = match.group("block")
        return mathml(block if block is not None else match.group("inline"),
                      "block" if block is not None else "inline") or match.group(0)

    return MATH.sub(one, text)


def render_math(markdown: str) -> str:
    """``markdown`` with its formulas as MathML; code spans and fenced blocks are left as they are."""
    out, last = [], 0
    for code in CODE.finditer(markdown):
        out += [_formulas(markdown[last:code.start()]), code.group(0)]
        last = code.end()
    return "".join(out) + _formulas(markdown[last:])


class RenderMath(Preprocessor):
    """Every markdown cell's formulas as MathML (see the module's docstring); enabled by default."""

    enabled = Bool(True).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "markdown":
            cell.source = render_math(cell.source)
        return cell, resources
