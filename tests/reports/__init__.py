"""Tests of the reports layer (autograde/reports/): the class report."""
