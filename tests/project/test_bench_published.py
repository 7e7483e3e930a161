"""The benchmarks' tables in docs/design/performance.md are each run's own output (bench/published.py),
tested without running a benchmark."""

from __future__ import annotations

import datetime
import sys

from bench import published


def test_a_benchmarks_section_is_replaced_and_the_rest_of_the_page_is_kept():
    old = published.section("bench/a.py", "python bench/a.py", "1.0 s", datetime.date(2026, 1, 1), 2)
    page = f"# Performance\n\nprose before\n\n{old}\n\nprose after\n"
    new = published.section("bench/a.py", "python bench/a.py --runs 3", "2.5 s", datetime.date(2026, 2, 2), 2)
    out = published.replace(page, "bench/a.py", new)
    assert "2.5 s" in out and "1.0 s" not in out and "--runs 3" in out and "2026-02-02" in out
    assert out.startswith("# Performance\n\nprose before\n\n") and out.endswith("\n\nprose after\n")


def test_a_benchmark_without_a_section_gets_one_at_the_end():
    new = published.section("bench/b.py", "python bench/b.py", "3 s", datetime.date(2026, 1, 1), 2)
    out = published.replace("# Performance\n\ntext\n", "bench/b.py", new)
    assert out.index("text") < out.index("### bench/b.py") < out.index("3 s")


def test_with_doc_a_benchmark_prints_as_usual_and_publishes_what_it_printed(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(published, "DOC", tmp_path / "performance.md")
    monkeypatch.setattr(sys, "argv", ["bench/grading_time.py", "--runs", "2", "--doc"])
    published.run(lambda: print("median 12.1 s"), str(published.ROOT / "bench" / "grading_time.py"))
    assert "median 12.1 s" in capsys.readouterr().out
    page = (tmp_path / "performance.md").read_text(encoding="utf-8")
    assert "`python bench/grading_time.py --runs 2`" in page and "median 12.1 s" in page
    assert sys.argv == ["bench/grading_time.py", "--runs", "2"]
