"""Subset the handwriting and text fonts of ``kana_keras.forms`` to the project's kana.

Run once by a developer (needs ``pip install fonttools brotli``); the subset files and
their licences are committed under ``kana_keras/assets/fonts/``. The sources:

    mkdir -p /tmp/fonts/deb && cd /tmp/fonts/deb
    apt-get download fonts-klee fonts-seto fonts-kiloji fonts-konatu fonts-motoya-l-cedar \\
        fonts-motoya-l-maruberi fonts-dejima-mincho \\
        fonts-yozvox-yozfont-antique fonts-yozvox-yozfont-cute fonts-yozvox-yozfont-new-kana \\
        fonts-yozvox-yozfont-edu              # Debian bookworm
    for f in *.deb; do dpkg -x $f ../x; done
    cd /tmp/fonts && for p in yomogi zen-kurenaido yusei-magic hachi-maru-pop; do
        npm pack @fontsource/$p && mkdir -p npm/$p && tar xzf fontsource-$p-*.tgz -C npm/$p; done
    python tools/subset_fonts.py /tmp/fonts
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kana_keras import forms, kana  # noqa: E402

OUT = ROOT / "kana_keras" / "assets" / "fonts"
DEB = "x/usr/share/fonts/truetype"
# file name in the assets folder -> (source file under the download root, licence file)
# fmt: off
SOURCES = {
    "KleeOne-Regular.ttf":   (f"{DEB}/klee/KleeOne-Regular.ttf",  "x/usr/share/doc/fonts-klee/copyright"),
    "KleeOne-SemiBold.ttf":  (f"{DEB}/klee/KleeOne-SemiBold.ttf", "x/usr/share/doc/fonts-klee/copyright"),
    "setofont.ttf":          (f"{DEB}/seto/setofont.ttf",          "x/usr/share/doc/fonts-seto/copyright"),
    "kiloji.ttf":            (f"{DEB}/kiloji/kiloji.ttf",          "x/usr/share/doc/fonts-kiloji/copyright"),
    "Konatu.ttf":            (f"{DEB}/konatu/Konatu.ttf",          "x/usr/share/doc/fonts-konatu/copyright"),
    "MTLmr3m.ttf":           (f"{DEB}/motoya-l-maruberi/MTLmr3m.ttf",
                              "x/usr/share/doc/fonts-motoya-l-maruberi/copyright"),
    "MTLc3m.ttf":            (f"{DEB}/motoya-l-cedar/MTLc3m.ttf",  "x/usr/share/doc/fonts-motoya-l-cedar/copyright"),
    "dejima-mincho-r227.ttf": (f"{DEB}/dejima-mincho/dejima-mincho-r227.ttf",
                               "x/usr/share/doc/fonts-dejima-mincho/copyright"),
    "YOzRA_.ttf":            (f"{DEB}/yozvox-yozfont/YOzRA_.ttf",
                              "x/usr/share/doc/fonts-yozvox-yozfont-antique/copyright"),
    "YOzRC_.ttf":            (f"{DEB}/yozvox-yozfont/YOzRC_.ttf",
                              "x/usr/share/doc/fonts-yozvox-yozfont-cute/copyright"),
    "YOzRN_.ttf":            (f"{DEB}/yozvox-yozfont/YOzRN_.ttf",
                              "x/usr/share/doc/fonts-yozvox-yozfont-new-kana/copyright"),
    "YOzRE_.ttf":            (f"{DEB}/yozvox-yozfont/YOzRE_.ttf",
                              "x/usr/share/doc/fonts-yozvox-yozfont-edu/copyright"),
    "Yomogi-Regular.ttf":    ("npm/yomogi/package/files/yomogi-japanese-400-normal.woff2",
                              "npm/yomogi/package/LICENSE"),
    "ZenKurenaido-Regular.ttf": ("npm/zen-kurenaido/package/files/zen-kurenaido-japanese-400-normal.woff2",
                                 "npm/zen-kurenaido/package/LICENSE"),
    "YuseiMagic-Regular.ttf": ("npm/yusei-magic/package/files/yusei-magic-japanese-400-normal.woff2",
                               "npm/yusei-magic/package/LICENSE"),
    "HachiMaruPop-Regular.ttf": ("npm/hachi-maru-pop/package/files/hachi-maru-pop-japanese-400-normal.woff2",
                                 "npm/hachi-maru-pop/package/LICENSE"),
}
# fmt: on


def subset_one(src: Path, dst: Path, text: str) -> int:
    """Keep only ``text``'s glyphs, no hinting, no layout features: a small plain TTF."""
    options = subset.Options()
    options.hinting = False
    options.layout_features = []
    options.name_IDs = ["*"]            # keep copyright and licence strings
    options.flavor = None               # woff2 in, plain sfnt out (Pillow reads it anywhere)
    options.drop_tables += ["gasp", "DSIG"]  # hinting hints only; one font's gasp is malformed
    font = TTFont(src)
    sub = subset.Subsetter(options)
    sub.populate(text=text)
    sub.subset(font)
    font.flavor = None
    font.save(dst)
    return dst.stat().st_size


def main(root: str) -> int:
    root = Path(root)
    text = "".join(kana.ALL_KANA) + "゛゜"
    (OUT / "licenses").mkdir(parents=True, exist_ok=True)
    for font in forms.FONTS:
        src, licence = SOURCES[font.file]
        size = subset_one(root / src, OUT / font.file, text)
        shutil.copyfile(root / licence, OUT / "licenses" / font.licence_file)
        print(f"{font.file}: {size // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
