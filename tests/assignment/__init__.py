"""Tests of the assignment layer (autograde/assignment/, autograde/exercises/, gdkit): the registry, what a kernel returns, diagnoses, the exercises and their release."""
