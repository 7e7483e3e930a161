"""The nbgrader front end, composed in ``nbgrader_config.py``: ``execute.GradingExecute`` (the
preprocessor that grades), ``background`` (the next notebooks executed meanwhile), ``fixes``
(nbgrader's own bugs and limits), ``feedback_math`` (formulas without a CDN), ``course`` and ``cli``
(running nbgrader on this course)."""
