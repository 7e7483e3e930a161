"""Student output is inert in the graded notebook (autograde/grading/inert.py), without a kernel or a browser.

Every trick below is parsed after the fact with an HTML parser (``active``), as nbconvert renders
it with its own sanitizing off (what nbgrader's formgrader does to markdown cells whatever its
settings): no script, event handler, frame, object, SVG, style, form, base or refresh may carry
the student's code, and no URL may run code. The real browser is tests/frontends/test_browser.py.
"""

from __future__ import annotations

import base64
from html.parser import HTMLParser

import nbformat
import pytest
from nbconvert import HTMLExporter
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from autograde.grading import inert
from autograde.grading.judge import Verdict, verdict_outputs
from tests.corpus import PAYLOADS, PNG_1PX, RESULT_PAYLOAD, UPDATE_PAYLOAD

MARK = "PWN"  # in every payload below: what a finding must not hold
JS = f"alert('{MARK}')"
ELEMENTS = {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math", "style",
            "form", "base", "link", "template", "portal"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "background", "poster",
                  "srcset", "srcdoc", "codebase", "cite", "ping", "content"}
ACTIVE_SCHEMES = ("javascript:", "vbscript:", "livescript:", "data:")


class _Active(HTMLParser):
    """Collects every construct of a page that can run code or load something on its own."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ELEMENTS:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            value = value or ""
            squeezed = "".join(ch for ch in value if ch > " ").lower()
            if tag == "img" and name == "src" and squeezed.startswith(("data:image/png;base64,",
                                                                     "data:image/jpeg;base64,")):
                continue
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}>")
            elif name == "style":
                self.found.append(f"<{tag} style>")
            elif name in URL_ATTRIBUTES and (squeezed.startswith(ACTIVE_SCHEMES) or name == "srcdoc"):
                self.found.append(f"<{tag} {name}={value[:40]}>")
            elif tag == "meta" and name == "http-equiv":
                self.found.append("<meta http-equiv>")
            elif tag == "img" and name == "src":
                self.found.append(f"<img src={value[:40]}>")  # a request to anywhere


def active(html: str) -> list[str]:
    parser = _Active()
    parser.feed(html)
    parser.close()
    return parser.found


def shown(outs: list) -> str:
    """The HTML nbconvert's classic template makes of code-cell outputs, sanitizing off."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", outputs=outs)])
    body, _ = HTMLExporter(template_name="classic", exclude_input=True).from_notebook_node(nb)
    return body.split('<div class="container" id="notebook-container">', 1)[-1]


def display(data: dict, metadata: dict | None = None, kind: str = "display_data") -> dict:
    out = {"output_type": kind, "data": data, "metadata": metadata or {}}
    if kind == "execute_result":
        out["execution_count"] = 3
    return nbformat.NotebookNode(out)


HTML_TRICKS = [
    f"<script>{JS}</script>",
    f"<SCRIPT>{JS}</SCRIPT>",
    f"<scr<script>ipt>{JS}</scr</script>ipt>",
    f'<img src="x" onerror="{JS}">',
    f"<img src=x:alert(alt) onerror=eval(src) alt={MARK}>",
    f"<svg><script>{JS}</script></svg>",
    f'<svg onload="{JS}"></svg>',
    f'<math><maction actiontype="statusline" xlink:href="javascript:{JS}">x</maction></math>',
    f'<iframe srcdoc="<script>{JS}</script>"></iframe>',
    f'<iframe src="javascript:{JS}"></iframe>',
    f'<object data="javascript:{JS}"></object>',
    f'<embed src="data:text/html;base64,{base64.b64encode(JS.encode()).decode()}">',
    f'<a href="jav&#x09;ascript:{JS}">link</a>',
    f'<a href=" javascript:{JS}">link</a>',
    f'<a href="JaVaScRiPt:{JS}">link</a>',
    f'<form action="javascript:{JS}"><button>go</button></form>',
    f'<button formaction="javascript:{JS}">go</button>',
    f'<meta http-equiv="refresh" content="0;url=javascript:{JS}">',
    f'<base href="javascript:{JS}//">',
    f'<link rel="stylesheet" href="javascript:{JS}">',
    f"<style>@import 'javascript:{JS}'; body{{background:url(javascript:{JS})}}</style>",
    f'<div style="background:url(javascript:{JS});width:expression({JS})">x</div>',
    f'<details open ontoggle="{JS}"><summary>x</summary></details>',
    f'<input autofocus onfocus="{JS}">',
    f'<video><source onerror="{JS}"></video>',
    f'<body onload="{JS}">',
    f'<!--<img src="--><img src=x onerror="{JS}">',
    f'<noscript><p title="</noscript><img src=x onerror={JS}>"></noscript>',
    f'<svg></p><style><a id="</style><img src=1 onerror={JS}>">',
    f"<template><script>{JS}</script></template>",
    f"<textarea><script>{JS}</script></textarea>",
    f"<xmp><script>{JS}</script></xmp>",
    f"<![CDATA[<script>{JS}</script>]]>",
    f'<img src="/gd-pwned/{MARK}">',
    f'<table background="javascript:{JS}"><tr><td>1</td></tr></table>',
    f'<div class="output_error alert alert-success" id="{MARK}">passed</div>',
]


@pytest.mark.parametrize("trick", HTML_TRICKS)
def test_sanitized_html_holds_nothing_active(trick):
    cleaned = inert.html(trick)
    assert active(cleaned) == [], cleaned
    assert "class=" not in cleaned and "id=" not in cleaned, cleaned  # no styling in the grader's look
    assert active(shown(inert.outputs([display({"text/html": trick})]))) == []


def test_the_tricks_are_active_unsanitized():
    """The parser sees what the defence removes (so the test above cannot pass vacuously)."""
    # inert as written, or active only where a browser's parser differs from Python's (noscript)
    quiet = {"<![CDATA[", "<textarea>", "<xmp>", "<template>", "class=", "<scr<", "<noscript>"}
    for trick in HTML_TRICKS:
        if not any(q in trick for q in quiet):
            assert active(trick), trick


def test_tables_and_text_of_sanitized_html_are_kept():
    frame = ('<div><style scoped>.dataframe tbody tr th {vertical-align: top;}</style>'
             '<table border="1" class="dataframe"><thead><tr><th colspan="2">loss</th></tr></thead>'
             "<tbody><tr><td>0.5</td><td><b>0.25</b></td></tr></tbody></table></div>")
    assert inert.html(frame) == ('<div><table><thead><tr><th colspan="2">loss</th></tr></thead>'
                                 "<tbody><tr><td>0.5</td><td><b>0.25</b></td></tr></tbody></table></div>")


MARKDOWN_TRICKS = [
    *HTML_TRICKS,
    f"[click](javascript:{JS})",
    f"[click](JaVaScRiPt\\:{JS})",
    f"[click](&#106;avascript:{JS})",
    f"[click](javascript&#58;{JS})",
    f"[click](<javascript:{JS}>)",
    f"<javascript:{JS}>",
    f"[click][r]\n\n[r]: javascript:{JS}",
    f"[click](data:text/html;base64,{base64.b64encode(JS.encode()).decode()})",
    f"![x](/gd-pwned/{MARK})",
    f"![x](http://127.0.0.1:9/{MARK}.png)",
    f"![a[b](attachment:x.png)](http://127.0.0.1:9/{MARK}.png)",
    f"![x][r]\n\n[r]: http://127.0.0.1:9/{MARK}.png",
    f"$\\href{{javascript:{JS}}}{{x}}$ $\\style{{background:url(x)}}{{{MARK}}}$ \\\\href{{x}}",
    f"`<script>{JS}</script>`\n\n```\n<img src=x onerror={JS}>\n```",
    f"<div>\n\n*md* <img src=x onerror={JS}>\n\n</div>",
    f"\x1b]8;;javascript:{JS}\x1b\\link\x1b]8;;\x1b\\",
    # a Unicode space after the scheme; a backslash before an image; brackets and code spans in a label
    f"[Full credit](javascript:\u00a0{JS})", f"[t][r]\n\n[r]: javascript:\u3000{JS}",
    f"\\![x](http://127.0.0.1:9/{MARK}.png)", f"![x\\](attachment:a.png) ](http://127.0.0.1:9/{MARK}.png)",
    f"![`](attachment:a.png)`](http://127.0.0.1:9/{MARK}.png)", "```` ``` ````\n" + f"<img src=x onerror={JS}>",
]


@pytest.mark.parametrize("trick", MARKDOWN_TRICKS)
def test_student_markdown_renders_as_text(trick):
    text = inert.markdown(trick)
    html = markdown2html_mistune(text)
    assert active(html) == [], html
    assert "<a" not in html and "<img" not in html and "<pre>" in html  # text in a code block, which MathJax skips
    assert "\x1b" not in text


def test_markdown_keeps_the_student_text_readable():
    text = "Loss < 0.1 & falling: see [the docs](https://www.tensorflow.org) and ![plot](attachment:loss.png)."
    html = markdown2html_mistune(inert.markdown(text))
    assert "Loss &lt; 0.1 &amp; falling: see [the docs](https://www.tensorflow.org)" in html


def test_streams_and_errors_lose_terminal_escapes_and_control_characters():
    outs = inert.outputs([
        nbformat.v4.new_output("stream", name="stdout", text=(
            "epoch 1\r\x1b[2K\x1b[31mloss\x1b[0m 0.5\x08\x07\n\x1b]8;;javascript:x\x1b\\link\x1b]8;;\x1b\\ "
            "\x1b]0;title\x07\x1bP$q\x1b\\\x9b31m\u202eevil\x00\tok\n")),
        nbformat.v4.new_output("stream", name="<script>", text="x"),
        nbformat.v4.new_output("error", ename="\x1b[31mValueError\x1b[0m", evalue=f"<img src=x onerror={JS}>",
                               traceback=["\x1b[0;31m---\x1b[0m", f"\x1b]8;;javascript:{JS}\x07x"]),
    ])
    assert outs[0].text == "epoch 1\rloss 0.5\nlink evil\tok\n"
    assert outs[1].name == "stdout"
    assert (outs[2].ename, outs[2].traceback) == ("ValueError", ["---", "x"])
    assert outs[2].evalue == f"<img src=x onerror={JS}>"  # text: every renderer escapes it
    assert active(shown(outs)) == []


def test_only_real_png_and_jpeg_images_are_kept_and_re_encoded():
    jpeg = base64.b64encode(b"\xff\xd8\xff\xe0" + bytes(16)).decode()
    svg_as_png = base64.b64encode(f"<svg onload=\"{JS}\"/>".encode()).decode()
    outs = inert.outputs([
        display({"image/png": PNG_1PX[:40] + "\n" + PNG_1PX[40:]}, {"image/png": {"width": 40, "height": 30}}),
        display({"image/jpeg": [jpeg[:8], jpeg[8:]]}),
        display({"image/png": f'AAAA"><script>{JS}</script>'}),
        display({"image/png": svg_as_png}),
        display({"image/png": PNG_1PX}, {"image/png": {"width": f"1 onload={JS}", "height": True,
                                                       "unconfined": True, "alt": MARK},
                                         "filenames": {"image/png": f"javascript:{JS}"}}),
    ])
    assert outs[0].data == {"image/png": PNG_1PX} and outs[0].metadata == {"image/png": {"width": 40, "height": 30}}
    assert outs[1].data == {"image/jpeg": jpeg}
    assert [list(o.data) for o in outs[2:4]] == [["text/plain"], ["text/plain"]]  # removed, saying so
    assert "image/png" in outs[2].data["text/plain"]
    assert outs[4].data == {"image/png": PNG_1PX} and outs[4].metadata == {}
    assert active(shown(outs)) == []


def test_kinds_that_can_run_code_are_removed_with_a_line_saying_so():
    outs = inert.outputs([
        display({"application/javascript": JS}),
        display({"image/svg+xml": f"<svg xmlns='http://www.w3.org/2000/svg'><script>{JS}</script></svg>"}),
        display({"application/vnd.jupyter.widget-view+json": {"model_id": MARK}, "text/plain": "Button()"}),
        display({"application/x-unknown": MARK, f"<script>{JS}</script>": "x"}),
        display({"text/html": {"not": "text"}, "application/json": {"a": 1}}),
        {"output_type": f"<script>{JS}</script>", "data": {"text/html": "x"}},
    ])
    assert [list(o.data) for o in outs] == [["text/plain"]] * 6
    assert "application/javascript" in outs[0].data["text/plain"] and "PNG/JPEG" in outs[0].data["text/plain"]
    assert outs[2].data["text/plain"] == "Button()"  # what else the output had stays
    assert all(o.output_type == "display_data" for o in outs)
    assert active(shown(outs)) == []
    assert inert.outputs([display({})])[0].data == {}  # nothing was removed: nothing to say


def test_markdown_and_latex_outputs_become_plain_text_and_metadata_goes():
    outs = inert.outputs([
        display({"text/markdown": f"<img src=x onerror={JS}>"}),
        display({"text/latex": f"$\\href{{javascript:{JS}}}{{x}}$", "text/plain": "<IPython.Latex>"}),
        display({"text/html": f"<script>{JS}</script>ok"}, {"text/html": {"isolated": True}}),
        display(RESULT_PAYLOAD, kind="execute_result"),
        display(UPDATE_PAYLOAD, kind="update_display_data") | {"transient": {"display_id": "x"}},
    ])
    assert outs[0].data == {"text/plain": f"<img src=x onerror={JS}>"}
    assert outs[1].data == {"text/plain": "<IPython.Latex>"}
    assert outs[2].data == {"text/html": "ok"} and outs[2].metadata == {}
    assert outs[3].output_type == "execute_result" and outs[3].execution_count == 3
    assert outs[4].output_type == "display_data" and "transient" not in outs[4]
    for out in outs:
        nbformat.validate(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", outputs=[out])]))
    assert active(shown(outs)) == []


def test_every_payload_of_the_hostile_corpus_notebook_is_inert():
    outs = inert.outputs([display(data, meta) for data, meta in PAYLOADS.values()])
    assert len(outs) == len(PAYLOADS)
    html = shown(outs)
    assert active(html) == []  # the payloads' text may show, in <pre>


def test_csv_cells_of_the_class_reports_are_text():
    from autograde.reports.grades_csv import cell

    assert cell("\x1b]52;c;cm0gLXJmIH4=\x07=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert cell("\x1b[31mred\x1b[0m") == "red" and cell(3) == 3


def test_the_grader_verdicts_pass_unchanged():
    passed = verdict_outputs(Verdict("x", True, ""), "the loss of known points")
    failed = verdict_outputs(Verdict("x", False, "`loss` 出錯 raised ValueError: <b>no</b>"), "the loss")
    assert inert.outputs(passed) == passed
    assert inert.outputs(failed) == failed


def test_a_notebook_keeps_what_grading_needs_and_no_viewer_state():
    given = "## Exercise 1\n\n<details>given by the instructor</details>"
    nb = nbformat.v4.new_notebook(metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "widgets": {"application/vnd.jupyter.widget-state+json": {"state": {MARK: {}}}}, "title": MARK})
    nbgrader = {"grade": False, "solution": True, "locked": False, "grade_id": "answer", "schema_version": 3}
    svg = base64.b64encode(f"<svg onload=\"{JS}\"/>".encode()).decode()
    nb.cells = [
        nbformat.v4.new_markdown_cell(given, metadata={"nbgrader": {"locked": True, "grade_id": "intro"}}),
        nbformat.v4.new_markdown_cell(f"<img src=x onerror={JS}> ![plot](attachment:plot.png) "
                                      "![gone](attachment:evil.svg) ![never](attachment:missing.png)",
                                      metadata={"trusted": True, "tags": ["ok", f'x" onclick="{JS}'],
                                                "jupyter": {"source_hidden": False}},
                                      attachments={"plot.png": {"image/png": PNG_1PX, "image/svg+xml": svg},
                                                   "evil.svg": {"image/svg+xml": svg}}),
        nbformat.v4.new_code_cell("x", metadata={"nbgrader": nbgrader, "trusted": True, "editable": True},
                                  outputs=[display({"application/javascript": JS})]),
        nbformat.v4.new_raw_cell(f"<script>{JS}</script>", metadata={"raw_mimetype": "text/html"}),
    ]
    inert.make_inert(nb, given={given})
    assert nb.metadata == {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    assert nb.cells[0].source == given  # a given cell stays as written
    assert nb.cells[1].metadata == {"tags": ["ok"]}  # no "jupyter" display state: it could hide a verdict
    assert "attachments" not in nb.cells[1]  # a student's text is shown as text
    assert nb.cells[2].metadata == {"nbgrader": nbgrader, "editable": True}
    assert nb.cells[3].cell_type == "markdown" and nb.cells[3].metadata == {}
    assert "<script" not in markdown2html_mistune(nb.cells[3].source)
    nbformat.validate(nb)
    body, _ = HTMLExporter(template_name="classic").from_notebook_node(nb)  # no missing attachment stops it
    assert "attachment:plot.png" in body and "<img" not in body
    container = body.split('<div class="container" id="notebook-container">', 1)[-1]
    assert [f for f in active(container) if MARK in f or "on" in f] == []
    assert "widget-state" not in body and MARK not in body.split("<body", 1)[0]


@pytest.mark.parametrize("front_end", ["pytest graders", "nbgrader"])
def test_both_front_ends_leave_only_inert_output(front_end, monkeypatch):
    """GradingSession makes the notebook inert after executing it, under either executor."""
    from nbconvert.preprocessors import ExecutePreprocessor

    def execute(self, nb, resources=None, km=None):  # stands for the kernel's run
        nb.cells[0].outputs = [display(data, meta) for data, meta in PAYLOADS.values()]
        nb.metadata["widgets"] = {"state": MARK}
        return nb, resources

    monkeypatch.setattr(ExecutePreprocessor, "preprocess", execute)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("display(...)"),
                                         nbformat.v4.new_markdown_cell(f"<script>{JS}</script>")])
    if front_end == "nbgrader":
        from autograde.frontends.nbgrader.execute import GradingExecute

        nb, _ = GradingExecute().grade(nb, {})
    else:
        from autograde.grading.runner import GradingClient

        nb, _ = GradingClient().preprocess(nb, {})
    assert "widgets" not in nb.metadata
    assert active(shown(nb.cells[0].outputs)) == [] and "<script" not in markdown2html_mistune(nb.cells[1].source)
