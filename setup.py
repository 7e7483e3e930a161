"""The wheel's one build step beyond pyproject.toml: the course an installed grader reads.

Beside the packages (``autograde``, ``gdkit``), the wheel holds ``autograde/course/``: this
repository's ``nbgrader_config.py``, ``source/`` (the assignment, solutions included) and the
example class's notebooks (``tests/submissions/<notebook>/``). An installed ``autograde`` reads
them there (``autograde.assignment.registry.ROOT``); a checkout or an editable install reads the repository.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")


class BuildWithCourse(build_py):
    """``build_py``, then the course copied into ``autograde/course`` of the build."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):  # an editable install reads the repository itself
            return
        dest = Path(self.build_lib) / "autograde" / "course"
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        shutil.copy2(HERE / "nbgrader_config.py", dest / "nbgrader_config.py")
        shutil.copytree(HERE / "source", dest / "source", ignore=SKIP)
        for folder in sorted((HERE / "tests" / "submissions").glob("[0-9]*")):
            shutil.copytree(folder, dest / "tests" / "submissions" / folder.name, ignore=SKIP)


setup(cmdclass={"build_py": BuildWithCourse})
