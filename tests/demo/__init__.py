"""Tests of the demo layer (autograde/demo/): the main job."""
