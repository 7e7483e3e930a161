"""Visible checks, one module per exercise. The hidden graders call these same functions."""
