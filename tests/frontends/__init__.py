"""Tests of the front ends (autograde/frontends/): nbgrader, Gradescope, the pytest graders' process, JupyterLab."""
