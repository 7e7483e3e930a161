"""Tests of the classroom layer (autograde/classroom/): class grading and gdgrade."""
