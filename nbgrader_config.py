"""nbgrader configuration of the course (read from this folder, the course root)."""

import os
import sys
from pathlib import Path

c = get_config()

HERE = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = "gd_applications_course"
c.CourseDirectory.root = HERE

if HERE not in sys.path:
    sys.path.insert(0, HERE)
from autograde import settings  # noqa: E402 - after the course folder is importable

# The course folder: its solutions, submissions and gradebook are hidden from grading kernels
# (the engine's settings: docs/configuration.md).
settings.configure(course=Path(HERE))

# nbgrader's exchange (release_assignment, fetch_assignment, submit, collect, release_feedback,
# fetch_feedback: docs/instructors/nbgrader.md): a folder the instructor and every student account
# can write to. GD_GRADING_EXCHANGE names it (a class: a shared one such as /srv/nbgrader/exchange,
# made once with `mkdir -p -m 1777`); by default `exchange/` in this course folder, for one account.
# It is created here if it can be, so that the formgrader finds it.
c.Exchange.root = str(settings.current().exchange or os.path.join(HERE, "exchange"))
try:
    os.makedirs(c.Exchange.root, exist_ok=True)
except OSError:
    pass  # nbgrader's exchange commands and the formgrader say the folder is missing

# nbgrader's process imports the graders (`autograde`) from here; grading kernels never can
# (they see neither this folder nor this environment, see autograde/kernel/manager.py).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("PYTHONHASHSEED", "0")
if HERE not in os.environ.get("PYTHONPATH", "").split(os.pathsep):
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (HERE, os.environ.get("PYTHONPATH")) if p)
# nbgrader runs `alembic` through PATH: make the running Python's scripts folder visible.
_bin = os.path.dirname(sys.executable)
if _bin not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = os.pathsep.join([_bin, os.environ.get("PATH", "")])


# Each notebook runs in a kernel under a 4 GiB memory limit, sandboxed by bubblewrap when the
# machine allows (no network; only the student's autograded folder writable; graders,
# solutions, gradebook and other students hidden). Test cells do not run in the kernel: the
# grader judges each check outside it (probing the student's functions on its own inputs) and
# writes the verdict as the cell's output. Training cells run for seconds: a stuck cell is
# interrupted after 5 minutes, a whole notebook stopped after 15. A kernel that dies costs
# only the checks not judged yet. (Limits: autograde/limits.py.)
c.Autograde.autograde_preprocessors = [
    "autograde.frontends.nbgrader.execute.GradingExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
from autograde import limits  # noqa: E402

c.Execute.timeout = limits.CELL_TIMEOUT
c.GradingExecute.notebook_timeout = limits.NOTEBOOK_TIMEOUT
c.GradingKernelManager.memory_mb = limits.MEMORY_MB
# Test cells deleted by a student are put back before grading (with a fix for nbgrader
# 0.9.6, which stops with KeyError when the deleted cell follows a read-only cell).
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "autograde.frontends.nbgrader.fixes.RestoreDeletedCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.RestoreDeletedCells.add_missing_cells = True
# A submitted notebook over limits.NOTEBOOK_MAX_BYTES is not parsed: its checks score 0, saying why.
c.Autograde.exporter_class = "autograde.frontends.nbgrader.fixes.BoundedExporter"
# Backstop for TensorFlow log lines that reach stderr despite the settings above.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = (
    r"(?m)^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWE] |[IWE]\d{4} |WARNING: All log messages before absl)"
)
# Feedback explains hidden checks by their docstring line but never shows their code.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
# Feedback pages and the formgrader show formulas as MathML, which needs no script (nbgrader's
# templates load MathJax from a CDN: offline, one would read raw TeX); our feedback/ and formgrade/
# mathjax.html.j2 come first in the template search and drop that script.
c.HTMLExporter.preprocessors = ["autograde.frontends.nbgrader.feedback_math.RenderMath"]
import nbgrader  # noqa: E402 - its feedback template, after ours

from autograde.frontends.nbgrader import feedback_math  # noqa: E402

c.HTMLExporter.extra_template_basedirs = [
    str(feedback_math.TEMPLATES),
    os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader", "templates"),
]
# Feedback pages and the formgrader (both nbconvert's HTMLExporter, configured from this file)
# also clean HTML and drop JavaScript and widget outputs themselves: a second wall behind the
# inert graded notebook (autograde/grading/inert.py). The formgrader's markdown cells bypass this setting.
c.HTMLExporter.sanitize_html = True
# The formgrader's Manage Assignments page shows the whole loaded configuration in debug mode
# (nbgrader's default): the Jupyter server's part, its token included, is not JSON, and each visit
# logs "Formgrader config is not serializable". Off: the page shows no configuration.
c.FormgradeExtension.debug = False

# `nbgrader autograde` grades one notebook after another: the first one's kernel (sandboxed and
# limited like any grading kernel, TensorFlow imported) starts now, while nbgrader starts up
# (autograde/frontends/nbgrader/execute.py, start_ahead).
if sys.argv[1:2] == ["autograde"] and not {"-h", "--help", "--help-all"} & set(sys.argv):
    from autograde.frontends.nbgrader.execute import start_ahead

    start_ahead(c, HERE, sys.argv[2:])
