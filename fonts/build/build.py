#!/usr/bin/python3
"""Builds Quire's embedded fonts from Debian's Noto fonts, reproducibly.

    make fonts            # or: /usr/bin/python3 fonts/build/build.py fonts

Needs Debian's fonts-noto-core and fonttools packages. For each face it:

1. keeps only the scripts Quire prints (Latin with its extensions, Greek,
   Cyrillic, combining accents, punctuation): smaller fonts are faster to
   subset and compress for every document;
2. drops hinting and OpenType layout tables, which no backend uses
   (print is high resolution; neither PDF library shapes text);
3. flattens every composite glyph into a simple one, so that no PDF
   subsetter can lose the parts of a composite of composites (gopdf as
   published did: Ḓ printed as D);
4. keeps advance widths, metrics, names and the source's timestamps, so
   the same inputs give byte-identical outputs.
"""

import hashlib
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont
from fontTools.ttLib.tables import ttProgram
from fontTools.ttLib.tables._g_l_y_f import Glyph, GlyphCoordinates

SOURCE = Path("/usr/share/fonts/truetype/noto")

FACES = [
    "NotoSans-Regular",
    "NotoSans-Bold",
    "NotoSerif-Regular",
    "NotoSerif-Bold",
    "NotoSerifDisplay-Medium",
]

# Unicode ranges kept, inclusive.
RANGES = [
    (0x0020, 0x007E),  # Basic Latin
    (0x00A0, 0x00FF),  # Latin-1 Supplement
    (0x0100, 0x017F),  # Latin Extended-A
    (0x0180, 0x024F),  # Latin Extended-B (incl. Romanian comma-below Ș ș Ț ț)
    (0x02B0, 0x02FF),  # Spacing modifier letters (ʼ ˆ ˜ …)
    (0x0300, 0x036F),  # Combining diacritical marks
    (0x0370, 0x03FF),  # Greek and Coptic
    (0x0400, 0x04FF),  # Cyrillic
    (0x0500, 0x052F),  # Cyrillic Supplement
    (0x1E00, 0x1EFF),  # Latin Extended Additional (Vietnamese, Irish ḃ ċ ḋ …)
    (0x1F00, 0x1FFF),  # Greek Extended
    (0x2000, 0x206F),  # General Punctuation (’ “ ” – — …)
    (0x20A0, 0x20CF),  # Currency symbols
    (0x2100, 0x214F),  # Letterlike symbols (№ ℅)
]


def unicodes():
    out = []
    for lo, hi in RANGES:
        out.extend(range(lo, hi + 1))
    return out


def subset_font(font):
    opts = subset.Options()
    opts.hinting = False
    opts.layout_features = []
    opts.drop_tables += ["GSUB", "GPOS", "GDEF", "BASE", "JSTF", "MATH", "kern", "DSIG", "STAT", "meta"]
    opts.glyph_names = False
    opts.notdef_outline = True
    opts.name_IDs = ["*"]
    opts.name_languages = ["*"]
    opts.legacy_kern = False
    s = subset.Subsetter(opts)
    s.populate(unicodes=unicodes())
    s.subset(font)


def flatten(font):
    """Replaces every composite glyph with a simple glyph of the same outline."""
    glyf = font["glyf"]
    hmtx = font["hmtx"]
    flattened = 0
    for name in font.getGlyphOrder():
        g = glyf[name]
        if not g.isComposite():
            continue
        coords, end_pts, flags = g.getCoordinates(glyf)
        simple = Glyph()
        simple.numberOfContours = len(end_pts)
        simple.coordinates = GlyphCoordinates(coords)
        simple.endPtsOfContours = list(end_pts)
        simple.flags = bytearray(f & 0x01 for f in flags)  # keep on-curve bits only
        simple.program = ttProgram.Program()
        simple.program.fromBytecode(b"")
        simple.recalcBounds(glyf)
        glyf[name] = simple
        # The left side bearing follows the outline's new bounds.
        advance, _ = hmtx[name]
        hmtx[name] = (advance, getattr(simple, "xMin", 0))
        flattened += 1
    return flattened


def build(out_dir):
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for face in FACES:
        src = SOURCE / f"{face}.ttf"
        font = TTFont(src, recalcTimestamp=False)
        subset_font(font)
        n = flatten(font)
        font["maxp"].maxComponentElements = 0
        font["maxp"].maxComponentDepth = 0
        font["maxp"].maxCompositePoints = 0
        font["maxp"].maxCompositeContours = 0
        dst = out_dir / f"{face}.ttf"
        font.save(dst)
        sha = hashlib.sha256(src.read_bytes()).hexdigest()
        print(f"{face}: {len(font.getGlyphOrder())} glyphs, {n} flattened, "
              f"{dst.stat().st_size} bytes; source sha256 {sha}")


if __name__ == "__main__":
    build(sys.argv[1] if len(sys.argv) > 1 else "fonts")
