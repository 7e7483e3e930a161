"""The pytest front end's entry point: ``python -m pytest autograde --submission DIR`` loads this
file, and with it the plugin (``autograde.frontends.pytest.plugin``: options, fixtures, the
grading of each notebook); the checks themselves are ``test_checks.py``."""

from autograde.frontends.pytest.plugin import *  # noqa: F403 - pytest finds the hooks and fixtures by name
