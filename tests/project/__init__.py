"""Tests of the project as a whole: layers, settings, layout, packaging, install, images, CI workflows, the hostile corpus."""
