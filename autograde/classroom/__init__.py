"""Grading a whole class: ``classgrade`` (in parallel, sharded, merged), its console command
``gdgrade`` (``cli``), argument checks (``arguments``) and progress (``progress``)."""
