"""Plot labels: a CJK font is found by matplotlib's cache or by its file; without one, English labels."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from matplotlib import font_manager, rcParams

from gdkit import plotting
from tests import requirements

WQY = requirements.WQY


@pytest.fixture
def no_cjk_in_cache(monkeypatch):
    """matplotlib's font list without any CJK font (as when the cache predates the font); restored after."""
    cjk = set(plotting.CJK_FONTS) | {"WenQuanYi Zen Hei Sharp", "WenQuanYi Zen Hei Mono"}
    monkeypatch.setattr(font_manager.fontManager, "ttflist",
                        [f for f in font_manager.fontManager.ttflist if f.name not in cjk])
    monkeypatch.setitem(rcParams, "font.family", ["sans-serif"])
    monkeypatch.setattr(plotting, "_chosen", [])
    font_manager.fontManager._findfont_cached.cache_clear()
    yield
    font_manager.fontManager._findfont_cached.cache_clear()


def test_without_any_cjk_font_labels_are_english(no_cjk_in_cache, tmp_path, monkeypatch):
    monkeypatch.setattr(plotting, "FONT_DIRS", (str(tmp_path),))
    assert plotting.use_cjk_font() is None
    assert plotting.zh_en("損失曲線", "Loss curves") == "Loss curves"
    assert rcParams["font.family"] == ["sans-serif"]


@requirements.FONT_WQY
def test_a_cjk_font_file_missing_from_the_cache_is_registered_and_labels_stay_bilingual(
        no_cjk_in_cache, tmp_path, monkeypatch):
    folder = tmp_path / "fonts" / "truetype"
    folder.mkdir(parents=True)
    shutil.copy(WQY, folder / WQY.name)
    (tmp_path / "fonts" / "readme.txt").write_text("not a font")
    monkeypatch.setattr(plotting, "FONT_DIRS", (str(tmp_path / "fonts"),))
    assert plotting.use_cjk_font() == "WenQuanYi Zen Hei"
    assert plotting.zh_en("損失曲線", "Loss curves") == "損失曲線 Loss curves"
    assert rcParams["font.family"] == ["DejaVu Sans", "WenQuanYi Zen Hei"]
    found = font_manager.findfont(font_manager.FontProperties(family="WenQuanYi Zen Hei"), fallback_to_default=False)
    assert Path(found) == folder / WQY.name


def test_font_files_are_found_by_name_best_first_and_nothing_else(tmp_path):
    for name in ("DejaVuSans.ttf", "wqy-zenhei.ttc", "NotoSansCJK-Regular.ttc", "msjh.ttc", "notes.txt",
                 "PingFang.ttc.bak"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in plotting.find_cjk_files([tmp_path])] == [
        "NotoSansCJK-Regular.ttc", "wqy-zenhei.ttc", "msjh.ttc"]
