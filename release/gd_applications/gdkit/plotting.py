"""Plots with Traditional Chinese labels: a font that has CJK glyphs where one is installed,
English labels where none is (never boxes)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

#: Fonts with Traditional Chinese glyphs, by platform: Linux, Windows, macOS, then Simplified/Japanese.
CJK_FONTS = (
    "Noto Sans CJK TC", "Noto Sans TC", "Source Han Sans TC", "WenQuanYi Zen Hei", "AR PL UMing TW",
    "Microsoft JhengHei", "PingFang TC", "Heiti TC", "Noto Sans CJK SC", "Noto Sans CJK JP",
)

#: Files of those fonts (lower-case name starts), in the same order of preference: found on disk even
#: when matplotlib's font cache was built before the font was installed.
CJK_FILES = (
    "notosanscjk", "notosanstc", "sourcehansans", "wqy-zenhei", "wqy-microhei", "uming",
    "msjh", "pingfang", "stheiti", "heiti", "msyh", "notosanssc",
)

#: Folders where fonts are installed: Linux (system, local, per user), macOS, Windows.
FONT_DIRS = (
    "/usr/share/fonts", "/usr/local/share/fonts", "~/.fonts", "~/.local/share/fonts",
    "/System/Library/Fonts", "/Library/Fonts", "~/Library/Fonts",
    os.path.join(os.environ.get("WINDIR", r"C:\Windows"), "Fonts"),
    os.path.join(os.environ.get("LOCALAPPDATA", "~"), "Microsoft", "Windows", "Fonts"),
)

_FONT_SUFFIXES = (".ttf", ".ttc", ".otf", ".otc")
_chosen: list[str | None] = []  # [font name or None] once use_cjk_font() has run


def find_cjk_files(font_dirs=None) -> list[Path]:
    """Font files under ``font_dirs`` (default ``FONT_DIRS``) whose names are known CJK fonts, best first."""
    found = []
    for folder in FONT_DIRS if font_dirs is None else font_dirs:
        for root, _, files in os.walk(os.path.expanduser(str(folder))):
            for name in files:
                low = name.lower().replace(" ", "")
                rank = next((i for i, start in enumerate(CJK_FILES) if low.startswith(start)), None)
                if rank is not None and low.endswith(_FONT_SUFFIXES):
                    found.append((rank, Path(root, name)))
    return [path for _, path in sorted(found)]


def use_cjk_font(font_dirs=None) -> str | None:
    """Put the first CJK font in front of matplotlib's sans-serif list; return its name, or None.

    Fonts matplotlib's cache knows come first; else known CJK font files under ``font_dirs``
    (default ``FONT_DIRS``) are registered with matplotlib. Without one, ``zh_en`` gives English
    labels. matplotlib's "Glyph … missing from font" warnings are silenced so they do not fill the output.
    """
    import logging

    from matplotlib import font_manager, rcParams

    manager = font_manager.fontManager
    installed = {f.name for f in manager.ttflist}
    found = next((name for name in CJK_FONTS if name in installed), None)
    for path in [] if found else find_cjk_files(font_dirs):
        before = len(manager.ttflist)
        try:
            manager.addfont(str(path))
        except (OSError, RuntimeError, ValueError):  # an unreadable or broken font file: try the next
            continue
        if len(manager.ttflist) > before:
            found = manager.ttflist[before].name  # the first face of a collection (.ttc)
            break
    if found:
        # DejaVu Sans first (Latin letters, digits, the minus sign), the CJK font as fallback:
        # matplotlib falls back glyph by glyph across the families listed in font.family
        rcParams["font.family"] = ["DejaVu Sans", found]
    # fonts without a glyph or a "normal" weight only cost looks: keep their notices off stderr
    warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font")
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    logging.getLogger("matplotlib.mathtext").setLevel(logging.ERROR)
    _chosen[:] = [found]
    return found


def zh_en(zh: str, en: str) -> str:
    """The text of a plot label: "中文 English" where a CJK font was found, else the English half."""
    if not _chosen:
        use_cjk_font()
    return f"{zh} {en}" if _chosen[0] else en
