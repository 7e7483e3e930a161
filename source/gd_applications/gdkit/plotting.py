"""Plots with Traditional Chinese labels: pick a font that has CJK glyphs, where one is installed."""

from __future__ import annotations

import warnings

#: Fonts with Traditional Chinese glyphs, by platform: Linux, Windows, macOS, then Simplified/Japanese.
CJK_FONTS = (
    "Noto Sans CJK TC", "Noto Sans TC", "Source Han Sans TC", "WenQuanYi Zen Hei", "AR PL UMing TW",
    "Microsoft JhengHei", "PingFang TC", "Heiti TC", "Noto Sans CJK SC", "Noto Sans CJK JP",
)


def use_cjk_font() -> str | None:
    """Put the first installed CJK font in front of matplotlib's sans-serif list; return its name.

    Without one, labels keep their English half readable and the CJK characters show as boxes;
    matplotlib's "Glyph … missing from font" warnings are silenced so they do not fill the output.
    """
    import logging

    from matplotlib import font_manager, rcParams

    installed = {f.name for f in font_manager.fontManager.ttflist}
    found = next((name for name in CJK_FONTS if name in installed), None)
    if found:
        # DejaVu Sans first (Latin letters, digits, the minus sign), the CJK font as fallback:
        # matplotlib falls back glyph by glyph across the families listed in font.family
        rcParams["font.family"] = ["DejaVu Sans", found]
    # fonts without a glyph or a "normal" weight only cost looks: keep their notices off stderr
    warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font")
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    logging.getLogger("matplotlib.mathtext").setLevel(logging.ERROR)
    return found
