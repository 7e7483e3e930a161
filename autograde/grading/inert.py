"""Student output made inert in the graded notebook itself (invariant 7 of the threat model).

Whatever renders the autograded ``.ipynb`` (nbgrader's feedback and formgrader, JupyterLab, any
nbconvert version or notebook viewer) finds in it only text and images:

- code-cell outputs keep ``stream`` and ``error`` text, ``text/plain``, PNG and JPEG images (valid
  base64 of a real PNG or JPEG), and ``text/html`` sanitized by ``nh3`` (text, tables, lists; no
  element that runs, loads, links or styles anything). ``text/markdown`` and ``text/latex``
  become ``text/plain``; everything else (JavaScript, SVG, widget views, unknown types) goes,
  and an output with nothing left says in a line what was removed. Text loses terminal escape sequences and control
  characters; output metadata keeps only the size of an image;
- markdown and raw cells the student wrote cannot hold HTML, a ``javascript:``-like link, an
  image from elsewhere or a MathJax link or style; given cells (their text is the source's)
  stay as they are; attachments keep PNG and JPEG images only;
- cell and notebook metadata keep what grading and layout need (no widget state, no trust
  flag, no ``isolated`` or ``filenames`` of outputs).

Test cells hold the grader's verdict (``judge.verdict_outputs``): text, which passes unchanged.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Collection

import nbformat
import nh3

#: Elements sanitized HTML may keep: text, tables, lists. No links, images, forms, frames or styles.
HTML_TAGS = {"b", "i", "strong", "em", "u", "s", "small", "sub", "sup", "code", "kbd", "samp", "var", "pre",
             "span", "div", "p", "br", "hr", "ul", "ol", "li", "dl", "dt", "dd", "blockquote",
             "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption", "colgroup", "col"}
HTML_ATTRIBUTES = {"td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}
#: Elements dropped with everything inside them (not only their tags).
HTML_DROPPED = {"script", "style", "template", "textarea", "title", "noscript", "iframe", "object", "embed",
                "svg", "math", "xmp", "noembed", "noframes", "select", "option"}
IMAGES = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}
TEXTS = ("text/markdown", "text/latex")  # shown as their plain text
#: (not ``jupyter``, ``collapsed``, ``scrolled``: a student's cell could hide the grader's verdict, or its own code)
CELL_METADATA = {"nbgrader", "deletable", "editable", "tags", "execution"}
NOTEBOOK_METADATA = {"kernelspec", "language_info"}

# ESC sequences (CSI, OSC up to BEL or ST, DCS/SOS/PM/APC up to ST, two-byte), their 8-bit forms,
# then any control character left but tab, newline and carriage return, and bidi overrides.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
                      r"|\x1b[PX^_][^\x1b\x9c]*(?:\x1b\\|\x9c)?|\x1b[ -~]?"
                      r"|\x9b[0-?]*[ -/]*[@-~]|[\x90\x98\x9d\x9e\x9f][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?")
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# A URL scheme that runs or embeds (browsers ignore case; CommonMark reads "\:" as ":").
# MathJax commands that link or style (its "safe" extension's list).
_MATHJAX = re.compile(r"\\(?=(?:href|style|class|cssId|data|html|unicode|require)\b)")
_TAG = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def make_inert(nb, given: Collection[str] = ()) -> None:
    """Make every cell of ``nb`` inert, in place; markdown cells whose text is in ``given`` (the
    source's own cells) keep their text."""
    nb.metadata = nbformat.NotebookNode({k: v for k, v in nb.get("metadata", {}).items() if k in NOTEBOOK_METADATA})
    for cell in nb.cells:
        cell.metadata = _cell_metadata(cell.get("metadata", {}))
        if cell.get("cell_type") == "code":
            cell.outputs = outputs(cell.get("outputs", []))
            cell.execution_count = _count(cell.get("execution_count"))
            continue
        if cell.get("cell_type") != "markdown":
            cell.cell_type = "markdown"  # a raw or unknown cell: shown as its text, like a student's markdown
        cell.pop("outputs", None)
        cell.pop("execution_count", None)
        source = _text(cell.get("source", ""))
        if cell.cell_type == "markdown" and source in given:
            if "attachments" in cell:
                cell.attachments = _attachments(cell.attachments)
            continue
        cell.pop("attachments", None)  # a student's text is shown as text: it embeds nothing
        cell.source = markdown(source)


def outputs(outs: list) -> list:
    """The inert form of a code cell's outputs (see the module)."""
    return [_output(o) for o in outs if isinstance(o, dict)]


def plain(text) -> str:
    """``text`` without terminal escape sequences, control characters (but tab, newline, carriage
    return) and bidirectional overrides."""
    return _CONTROLS.sub("", _ESCAPES.sub("", _text(text)))


def html(fragment) -> str:
    """An HTML fragment with nothing left that runs, loads, links or styles (``nh3``)."""
    cleaned = nh3.clean(plain(fragment), tags=HTML_TAGS, attributes=HTML_ATTRIBUTES, clean_content_tags=HTML_DROPPED,
                        url_schemes=set(), link_rel=None, strip_comments=True)
    return _MATHJAX.sub(r"\\ ", cleaned)  # MathJax, where a viewer runs it, makes no link or style of it


def markdown(text) -> str:
    """A student's markdown (or raw) cell as markdown that renders as its plain text: one fenced
    code block, longer than any run of backticks in it. Whatever markdown, HTML, link, image or
    MathJax the text holds, every renderer shows it as characters (escaped, in ``<pre><code>``,
    which MathJax skips): no rule that parses markdown a second time is needed, or can be fooled."""
    text = plain(text)
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
    return f"{fence}text\n{text}\n{fence}"


def image(value, mime: str) -> str | None:
    """``value`` re-encoded when it is base64 of a ``mime`` image (PNG or JPEG), else None."""
    try:
        raw = base64.b64decode(re.sub(r"\s", "", _text(value)), validate=True)
    except (binascii.Error, ValueError):
        return None
    return base64.b64encode(raw).decode("ascii") if raw.startswith(IMAGES[mime]) else None


def _output(out: dict) -> nbformat.NotebookNode:
    kind = out.get("output_type")
    if kind == "stream":
        name = out.get("name") if out.get("name") in ("stdout", "stderr") else "stdout"
        return nbformat.v4.new_output("stream", name=name, text=plain(out.get("text", "")))
    if kind == "error":
        traceback = out.get("traceback")
        return nbformat.v4.new_output("error", ename=plain(out.get("ename", "")), evalue=plain(out.get("evalue", "")),
                                      traceback=[plain(t) for t in traceback] if isinstance(traceback, list) else [])
    if kind not in ("execute_result", "display_data", "update_display_data"):
        return _note([f"an output of type {kind}"])
    data = out.get("data") if isinstance(out.get("data"), dict) else {}
    kept, metadata, removed = _bundle(data, out.get("metadata") if isinstance(out.get("metadata"), dict) else {})
    if removed and not kept:
        return _note(removed)
    if kind == "execute_result":
        return nbformat.v4.new_output("execute_result", data=kept, metadata=metadata,
                                      execution_count=_count(out.get("execution_count")))
    return nbformat.v4.new_output("display_data", data=kept, metadata=metadata)


def _bundle(data: dict, metadata: dict) -> tuple[dict, dict, list[str]]:
    """The kinds of a MIME bundle that are kept (inert), their metadata, and the kinds removed."""
    kept, meta, removed = {}, {}, []
    for mime, value in data.items():
        if not isinstance(value, str | list):
            removed.append(mime)
        elif mime == "text/plain":
            kept[mime] = plain(value)
        elif mime == "text/html" and (cleaned := html(value)).strip():
            kept[mime] = cleaned
        elif mime in IMAGES and (encoded := image(value, mime)) is not None:
            kept[mime] = encoded
            size = metadata.get(mime) if isinstance(metadata.get(mime), dict) else {}
            size = {k: v for k, v in size.items() if k in ("width", "height") and _pixels(v)}
            if size:
                meta[mime] = size
        elif mime not in TEXTS:
            removed.append(mime)
    for mime in TEXTS:
        if mime in data and "text/plain" not in kept and isinstance(data[mime], str | list):
            kept["text/plain"] = plain(data[mime])
    return kept, meta, removed


def _note(removed: list[str]) -> nbformat.NotebookNode:
    kinds = ", ".join(plain(k)[:60] for k in removed[:5]) + (", …" if len(removed) > 5 else "")
    return nbformat.v4.new_output("display_data", data={"text/plain": (
        f"[not shown: {kinds}. Graded notebooks keep text and PNG/JPEG images only. "
        "評分後的筆記本只保留文字與 PNG/JPEG 圖片。]")})


def _cell_metadata(metadata: dict) -> nbformat.NotebookNode:
    kept = {k: v for k, v in metadata.items() if k in CELL_METADATA}
    if "tags" in kept:
        tags = kept["tags"] if isinstance(kept["tags"], list) else []
        kept["tags"] = [t for t in tags if isinstance(t, str) and _TAG.match(t)]
    return nbformat.NotebookNode(kept)


def _attachments(attachments) -> nbformat.NotebookNode:
    """A cell's attachments that are PNG or JPEG images; nothing else."""
    kept = {}
    for name, bundle in (attachments.items() if isinstance(attachments, dict) else []):
        images = {m: image(v, m) for m, v in (bundle.items() if isinstance(bundle, dict) else []) if m in IMAGES}
        images = {m: v for m, v in images.items() if v is not None}
        if images and isinstance(name, str) and _TAG.match(name.replace(".", "_")):
            kept[name] = images
    return nbformat.NotebookNode(kept)


def _count(value) -> int | None:
    """An execution count: an int, else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _pixels(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 10_000


def _text(value) -> str:
    """A notebook's text field (a string, or a list of lines) as one string."""
    if isinstance(value, list):
        return "".join(v for v in value if isinstance(v, str))
    return value if isinstance(value, str) else ""
