"""Tests of the grading layer (autograde/grading/): the judge, reference runs, inert output, the example class's points."""
