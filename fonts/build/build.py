#!/usr/bin/python3
"""Prepare the fonts Quire embeds from Debian's Noto font packages.

Run it as `make fonts` (or `/usr/bin/python3 fonts/build/build.py [DIR]`).
It reads the Noto fonts installed by Debian's fonts-noto-core,
fonts-noto-extra (Noto Serif Display Medium) and fonts-noto-cjk (Chinese,
Japanese and Korean), and for each face Quire ships it:

  1. for the CJK faces, which Debian ships as CFF (cubic) outlines in .ttc
     collections: picks each character's regional glyph, keeps the chosen
     characters and converts the outlines to TrueType (quadratic) ones, the
     kind the PDF backend embeds (CIDFontType2);
  2. flattens every composite glyph into a simple glyph, because a subsetter
     that follows only one level of components would print nested
     composites (Noto's "Ḉ", "·", "½", Arabic dots) with parts missing;
  3. keeps only the characters of its script (see fonts/README.md), and the
     glyphs the shaping features reach from them;
  4. keeps the OpenType layout tables a shaper needs (GSUB, GPOS, GDEF, with
     the features HarfBuzz applies by default: ccmp, locl, mark, mkmk, kern,
     liga, Arabic joining, Indic reordering...), and drops what no part of
     Quire uses: hinting (fpgm, prep, cvt, gasp, glyph instructions), DSIG,
     vertical metrics, and glyph names (post format 3);
  5. checks its own work (no composites left, advance widths and the
     character map unchanged against the source, layout tables kept) and
     writes DIR/<face>.ttf, DIR/SOURCES.md (what went in, what came out),
     DIR/OFL.txt (the fonts' copyright notices and the licence, from the
     Debian packages) and DIR/embed.go (which embeds the faces).

The output depends only on the input files and the fontTools version: the
same inputs give byte-identical outputs. head.created and head.modified are
kept from the source rather than set to the time of the build, and
SOURCES.md contains no timestamps. It needs only Debian packages:
fonts-noto-core, fonts-noto-extra, fonts-noto-cjk and python3-fonttools
(plus dpkg-query, to record the package versions). It downloads nothing.
The CJK faces take a few minutes each.
"""

import argparse
import hashlib
import io
import os
import subprocess
import sys
import textwrap

import fontTools
from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont, newTable
from fontTools.ttLib.tables import _g_l_y_f as glyf_module
from fontTools.ttLib.tables import ttProgram
from fontTools.ttLib.tables._c_m_a_p import cmap_classes

SOURCE_PACKAGE = "fonts-noto-core"
# The packages a face may come from. fonts-noto-core and fonts-noto-extra
# are built from Debian's fonts-noto source package and have the same
# copyright file; fonts-noto-cjk has its own.
SOURCE_PACKAGES = ["fonts-noto-core", "fonts-noto-extra", "fonts-noto-cjk"]
SOURCE_DIR = "/usr/share/fonts/truetype/noto"
CJK_DIR = "/usr/share/fonts/opentype/noto"
COPYRIGHT_FILE = "/usr/share/doc/fonts-noto-core/copyright"

# The characters kept by the Latin, Greek and Cyrillic faces, as inclusive
# (first, last, block name) ranges. A character is kept when the source
# font maps it. C0 and C1 control characters are left out on purpose: they
# are not printable, and leaving them unmapped lets fonts.Face.Missing
# report them (Noto maps U+0000 and U+000D to empty glyphs, which would
# otherwise print as nothing).
RANGES = [
    (0x0020, 0x007E, "Basic Latin (printable)"),
    (0x00A0, 0x00FF, "Latin-1 Supplement (printable)"),
    (0x0100, 0x017F, "Latin Extended-A"),
    (0x0180, 0x024F, "Latin Extended-B"),
    # Latin Extended-B has capitals whose small letters live here:
    # Azerbaijani Ə/ə (U+018F/U+0259), and Ɛ/ɛ, Ɔ/ɔ, Ŋ's relatives used in
    # West African names. A name that prints in capitals but not in lower
    # case would be a trap.
    (0x0250, 0x02AF, "IPA Extensions"),
    (0x02B0, 0x02FF, "Spacing Modifier Letters"),
    (0x0300, 0x036F, "Combining Diacritical Marks"),
    (0x0370, 0x03FF, "Greek and Coptic"),
    (0x0400, 0x04FF, "Cyrillic"),
    (0x0500, 0x052F, "Cyrillic Supplement"),
    (0x1E00, 0x1EFF, "Latin Extended Additional"),
    (0x1F00, 0x1FFF, "Greek Extended"),
    (0x2000, 0x206F, "General Punctuation"),
    (0x20A0, 0x20CF, "Currency Symbols"),
    (0x2100, 0x214F, "Letterlike Symbols"),
]

# What every script face keeps besides its script's blocks, when the source
# maps it: the spaces (a space inside a run of a script is shaped with that
# script's face), the joiners and direction marks the shaper reads, the
# soft hyphen and hyphens, and the dotted circle a shaper draws under a mark
# with no base.
SHARED = [
    (0x0020, 0x0020, "space"),
    (0x00A0, 0x00A0, "no-break space"),
    (0x00AD, 0x00AD, "soft hyphen"),
    (0x200B, 0x200F, "zero width space, non-joiner, joiner, direction marks"),
    (0x2010, 0x2011, "hyphen, non-breaking hyphen"),
    (0x25CC, 0x25CC, "dotted circle"),
]

# Characters the Indic scripts share: the dandas (in the Devanagari block),
# Vedic extensions and the common Indic number forms.
INDIC_SHARED = [
    (0x0964, 0x0965, "danda, double danda"),
    (0x1CD0, 0x1CFF, "Vedic Extensions"),
    (0xA830, 0xA83F, "Common Indic Number Forms"),
]

# The script faces' characters: each script's blocks.
SCRIPTS = {
    "Arabic": [
        (0x0600, 0x06FF, "Arabic"),
        (0x0750, 0x077F, "Arabic Supplement"),
        (0x08A0, 0x08FF, "Arabic Extended-A"),
        (0xFB50, 0xFDFF, "Arabic Presentation Forms-A"),
        (0xFE70, 0xFEFF, "Arabic Presentation Forms-B"),
    ],
    "Hebrew": [(0x0590, 0x05FF, "Hebrew"), (0xFB1D, 0xFB4F, "Alphabetic Presentation Forms (Hebrew)")],
    "Devanagari": [(0x0900, 0x097F, "Devanagari"), (0xA8E0, 0xA8FF, "Devanagari Extended")] + INDIC_SHARED,
    "Bengali": [(0x0980, 0x09FF, "Bengali")] + INDIC_SHARED,
    "Gurmukhi": [(0x0A00, 0x0A7F, "Gurmukhi")] + INDIC_SHARED,
    "Gujarati": [(0x0A80, 0x0AFF, "Gujarati")] + INDIC_SHARED,
    "Tamil": [(0x0B80, 0x0BFF, "Tamil")] + INDIC_SHARED,
    "Telugu": [(0x0C00, 0x0C7F, "Telugu")] + INDIC_SHARED,
    "Malayalam": [(0x0D00, 0x0D7F, "Malayalam")] + INDIC_SHARED,
    "Sinhala": [(0x0D80, 0x0DFF, "Sinhala"), (0x111E0, 0x111FF, "Sinhala Archaic Numbers")] + INDIC_SHARED,
    "Thai": [(0x0E00, 0x0E7F, "Thai")],
    "Ethiopic": [
        (0x1200, 0x137F, "Ethiopic"),
        (0x1380, 0x139F, "Ethiopic Supplement"),
        (0x2D80, 0x2DDF, "Ethiopic Extended"),
        (0xAB00, 0xAB2F, "Ethiopic Extended-A"),
    ],
    "Armenian": [(0x0530, 0x058F, "Armenian"), (0xFB13, 0xFB17, "Alphabetic Presentation Forms (Armenian)")],
    "Georgian": [
        (0x10A0, 0x10FF, "Georgian"),
        (0x1C90, 0x1CBF, "Georgian Extended"),
        (0x2D00, 0x2D2F, "Georgian Supplement"),
    ],
}

# The script faces, serif and sans, by script: (serif regular, serif bold,
# sans regular, sans bold). Arabic's "serif" is Noto Naskh Arabic, the
# Naskh style Noto pairs with Noto Serif; Urdu is set in it too (README.md
# says why not Nastaliq).
SCRIPT_FACES = {
    "Arabic": ("NotoNaskhArabic-Regular", "NotoNaskhArabic-Bold", "NotoSansArabic-Regular", "NotoSansArabic-Bold"),
}
for _script in SCRIPTS:
    if _script not in SCRIPT_FACES:
        SCRIPT_FACES[_script] = (f"NotoSerif{_script}-Regular", f"NotoSerif{_script}-Bold",
                                 f"NotoSans{_script}-Regular", f"NotoSans{_script}-Bold")

# The CJK faces: (output name, .ttc file in CJK_DIR). One weight each: no
# template prints request data in bold, and a bold CJK face would add as
# much again as the regular one (README.md has the figures).
CJK_FACES = [
    ("NotoSerifCJK-Regular", "NotoSerifCJK-Regular.ttc"),
    ("NotoSansCJK-Regular", "NotoSansCJK-Regular.ttc"),
]

# The fonts in each .ttc, by region: they share one set of glyphs and
# differ in which glyph each character maps to.
CJK_REGIONS = {"jp": 0, "kr": 1, "sc": 2, "tc": 3}

# Hanzi often given in Chinese names that GB 2312 lacks (they are in the
# 2013 Table of General Standard Chinese Characters).
CJK_NAME_EXTRAS = "喆堃昇玥珺琤瑄婧翀犇淼燚垚晞玏琇瑀瑨璟璠瑢曌旻昉祎禕婼嬛彧赟頔珩琰镕溦玙珝琀珵瑭玹珣晗炅烜煜暐昕"

# The faces Quire ships, by PostScript name, each with the script it is
# for ("Latin": the faces the templates name).
FACES = [
    ("NotoSans-Regular", "Latin"),
    ("NotoSans-Bold", "Latin"),
    ("NotoSerif-Regular", "Latin"),
    ("NotoSerif-Bold", "Latin"),
    ("NotoSerifDisplay-Medium", "Latin"),
]
FACES += [(face, script) for script in SCRIPTS for face in SCRIPT_FACES[script]]
FACES += [(name, "CJK") for name, _ in CJK_FACES]

# The tables the output keeps: what the shaper (go-text/typesetting), the
# PDF backend and golang.org/x/image/font/sfnt read. Anything else is
# dropped. GSUB, GPOS and GDEF are kept when the source has them.
KEEP_TABLES = {
    "cmap", "glyf", "head", "hhea", "hmtx", "loca", "maxp", "name", "OS/2", "post",
    "GSUB", "GPOS", "GDEF",
}
LAYOUT_TABLES = {"GSUB", "GPOS", "GDEF"}

# The layout features kept: fontTools' default set, which is what HarfBuzz
# (and go-text, its port) applies by default, less the vertical ones (Quire
# sets text horizontally).
VERTICAL_FEATURES = {"vert", "vrt2", "vkna", "vkrn", "valt", "vpal", "vhal", "vchw", "vjmo"}

VERSION_NOTE = (
    "Quire build: composites flattened, hinting removed, "
    "subset to the characters Quire prints"
)
CJK_VERSION_NOTE = (
    "Quire build: regional glyphs combined, CFF outlines converted to TrueType, "
    "hinting removed, subset to the characters Quire prints"
)

# How far a converted quadratic curve may stray from the cubic one, in font
# units (1/1000 em): well below what a printer resolves at name sizes.
CU2QU_MAX_ERR = 1.0


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def package_version(name):
    """Returns the installed Debian version of package name."""
    try:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", name],
            check=True, capture_output=True, text=True,
        )
    except (OSError, subprocess.CalledProcessError) as err:
        sys.exit(f"build.py: cannot read the version of Debian package {name}: {err}")
    return out.stdout.strip()


def owning_package(path):
    """Returns the Debian package that installed path, one of SOURCE_PACKAGES."""
    try:
        out = subprocess.run(["dpkg-query", "-S", path], check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as err:
        sys.exit(f"build.py: no Debian package owns {path} (install {', '.join(SOURCE_PACKAGES)}): {err}")
    pkg = out.stdout.split(":", 1)[0].strip()
    if pkg not in SOURCE_PACKAGES:
        sys.exit(f"build.py: {path} comes from {pkg}, not one of {SOURCE_PACKAGES}")
    if pkg != "fonts-noto-cjk":
        copyright_file = f"/usr/share/doc/{pkg}/copyright"
        with open(copyright_file, "rb") as a, open(COPYRIGHT_FILE, "rb") as b:
            if a.read() != b.read():
                sys.exit(f"build.py: {copyright_file} differs from {COPYRIGHT_FILE}; OFL.txt quotes only the latter")
    return pkg


def ranges_for(script):
    """Returns the (first, last, block) ranges a face for script keeps."""
    if script == "Latin":
        return RANGES
    return SCRIPTS[script] + SHARED


def wanted_unicodes(font, ranges):
    """Returns the sorted code points of font's cmap that fall in ranges."""
    cmap = font.getBestCmap()
    return sorted(c for c in cmap if any(lo <= c <= hi for lo, hi, _ in ranges))


def check_no_reserved_name(font, name):
    """Fails if the font declares a Reserved Font Name.

    OFL 1.1 condition 3 forbids a Modified Version to use a Reserved Font
    Name. Noto declares none, so the shipped files keep their names; if a
    future source declared one, they would have to be renamed first.
    """
    for record in font["name"].names:
        if record.nameID in (0, 13) and "reserved font name" in record.toUnicode().lower():
            sys.exit(f"build.py: {name} declares a Reserved Font Name; "
                     "rename the modified font before shipping it")


def check_composite_bounds(font):
    """Fails unless every composite's stored bounding box matches its expansion.

    Composite components may be positioned in two ways that the format does
    not always say (offset scaled with the component or not); the source's
    own bounding boxes, written by the font's compiler, tell us which one the
    designers meant. If fontTools' expansion disagrees with them, flattening
    would move parts of glyphs, so stop.
    """
    glyf = font["glyf"]
    for name in font.getGlyphOrder():
        glyph = glyf[name]
        if not glyph.isComposite():
            continue
        for comp in glyph.components:
            if hasattr(comp, "firstPt"):
                sys.exit(f"build.py: glyph {name} positions a component by point "
                         "matching; flattening it is not supported")
        coords, _, _ = glyph.getCoordinates(glyf)
        coords = coords.copy()
        coords.toInt()
        xs = [p[0] for p in coords]
        ys = [p[1] for p in coords]
        stored = (glyph.xMin, glyph.yMin, glyph.xMax, glyph.yMax)
        expanded = (min(xs), min(ys), max(xs), max(ys))
        if stored != expanded:
            sys.exit(f"build.py: glyph {name}: stored bounds {stored} differ from "
                     f"the expanded outline's {expanded}")


def flatten_composites(font):
    """Replaces every composite glyph with a simple glyph of the same outline.

    fontTools expands nested components recursively, applying each
    component's offset and 2x2 transform. Coordinates are rounded to whole
    font units (a scaled component can land on a fraction: at most half a
    unit, 1/2000 em, away). The advance width is untouched; the left side
    bearing stays equal to xMin, as head.flags bit 1 promises.
    """
    glyf = font["glyf"]
    hmtx = font["hmtx"]
    flat = {}
    # Expand everything before replacing anything, so each expansion reads
    # the original components.
    for name in font.getGlyphOrder():
        glyph = glyf[name]
        if not glyph.isComposite():
            continue
        coords, end_pts, flags = glyph.getCoordinates(glyf)
        coords = coords.copy()
        coords.toInt()
        simple = glyf_module.Glyph()
        simple.numberOfContours = len(end_pts)
        simple.coordinates = coords
        simple.endPtsOfContours = list(end_pts)
        # Keep only the on-curve bit; the rest are encoding details that
        # fontTools recomputes when it writes the glyph.
        simple.flags = bytearray(f & glyf_module.flagOnCurve for f in flags)
        # Carry the composite's overlap flag over (Noto sets none), and add
        # none of our own: FreeType switches to different anti-aliasing for
        # flagged glyphs, and flattening should change outlines only.
        if simple.flags and any(c.flags & glyf_module.OVERLAP_COMPOUND for c in glyph.components):
            simple.flags[0] |= glyf_module.flagOverlapSimple
        simple.program = ttProgram.Program()
        simple.program.fromBytecode(b"")
        simple.recalcBounds(glyf)
        flat[name] = simple
    for name, simple in flat.items():
        glyf[name] = simple
        advance, _ = hmtx[name]
        hmtx[name] = (advance, simple.xMin)
    return len(flat)


def subset_options():
    options = subset.Options()
    options.layout_features = [f for f in options.layout_features if f not in VERTICAL_FEATURES]
    options.drop_tables += ["DSIG", "gasp", "kern", "vhea", "vmtx", "VORG", "BASE"]
    options.hinting = False
    options.glyph_names = False  # post format 3
    options.notdef_outline = True  # keep .notdef's box: missing glyphs show
    options.name_IDs = ["*"]  # keep the copyright, trademark and licence records
    options.recalc_timestamp = False
    return options


def drop_unused_tables(font):
    for tag in sorted(font.keys()):
        if tag != "GlyphOrder" and tag not in KEEP_TABLES:
            del font[tag]


def subset_font(font, unicodes):
    """Subsets font in place to unicodes, keeping the glyphs the shaping
    features reach from them, and drops the unused tables."""
    subsetter = subset.Subsetter(subset_options())
    subsetter.populate(unicodes=unicodes)
    subsetter.subset(font)
    drop_unused_tables(font)


def mark_version(font, note=VERSION_NOTE):
    """Says in the version string (name ID 5) that this is a modified build.

    The source's version string names the ttfautohint run, which is no longer
    true once hinting is gone. Family and PostScript names are kept: Noto has
    no Reserved Font Name, and PDF readers show the PostScript name.
    """
    name = font["name"]
    for record in name.names:
        if record.nameID == 5:
            version = record.toUnicode().split(";")[0]
            name.setName(f"{version}; {note}", 5,
                         record.platformID, record.platEncID, record.langID)


def verify(source, built, unicodes, source_cmap=None):
    """Fails unless built draws exactly unicodes with the source's advances
    and keeps the source's layout tables.

    For the CJK faces (source_cmap set), GDEF may go: theirs classes only
    four glyphs, none of them kept, and the subsetter drops it empty.
    """
    src_cmap = source_cmap or source.getBestCmap()
    out_cmap = built.getBestCmap()
    if sorted(out_cmap) != unicodes:
        sys.exit("build.py: output character map differs from the wanted set")
    src_hmtx = source["hmtx"]
    out_hmtx = built["hmtx"]
    for c in unicodes:
        want = src_hmtx[src_cmap[c]][0]
        got = out_hmtx[out_cmap[c]][0]
        if want != got:
            sys.exit(f"build.py: U+{c:04X}: advance {got}, source has {want}")
    glyf = built["glyf"]
    for name in built.getGlyphOrder():
        if glyf[name].isComposite():
            sys.exit(f"build.py: glyph {name} is still composite")
    extra = set(built.keys()) - KEEP_TABLES - {"GlyphOrder"}
    if extra:
        sys.exit(f"build.py: unexpected tables left: {sorted(extra)}")
    lost = {t for t in LAYOUT_TABLES if t in source and t not in built}
    if source_cmap is not None:
        lost.discard("GDEF")
    if lost:
        sys.exit(f"build.py: layout tables lost: {sorted(lost)}")
    if built["post"].formatType != 3.0:
        sys.exit("build.py: post table still carries glyph names")


def build_face(name, script, out_dir):
    """Builds one Latin or script face; returns a dict of facts for SOURCES.md."""
    src_path = os.path.join(SOURCE_DIR, name + ".ttf")
    with open(src_path, "rb") as f:
        src_bytes = f.read()

    # recalcTimestamp=False keeps head.modified from the source, so the
    # output does not depend on when the build ran.
    source = TTFont(io.BytesIO(src_bytes), recalcTimestamp=False)
    font = TTFont(io.BytesIO(src_bytes), recalcTimestamp=False)
    check_no_reserved_name(font, name)
    check_composite_bounds(font)
    unicodes = wanted_unicodes(font, ranges_for(script))
    flattened = flatten_composites(font)
    subset_font(font, unicodes)
    mark_version(font)
    return finish(name, script, out_dir, src_path, src_bytes, source, font, unicodes, flattened)


def finish(name, script, out_dir, src_path, src_bytes, source, font, unicodes, flattened, source_cmap=None):
    """Writes font as out_dir/<name>.ttf after checking it; returns its facts."""
    buf = io.BytesIO()
    font.save(buf)
    out_bytes = buf.getvalue()

    # Verify what was written, not the in-memory object.
    built = TTFont(io.BytesIO(out_bytes))
    verify(source, built, unicodes, source_cmap)
    if built["head"].modified != source["head"].modified:
        sys.exit(f"build.py: {name}: head.modified changed")

    out_path = os.path.join(out_dir, name + ".ttf")
    with open(out_path, "wb") as f:
        f.write(out_bytes)
    return {
        "name": name,
        "script": script,
        "src_path": src_path,
        "src_package": owning_package(src_path),
        "src_sha256": sha256(src_bytes),
        "src_glyphs": source["maxp"].numGlyphs,
        "flattened": flattened,
        "out_file": name + ".ttf",
        "out_sha256": sha256(out_bytes),
        "out_size": len(out_bytes),
        "out_glyphs": built["maxp"].numGlyphs,
        "out_chars": len(unicodes),
        "layout": " ".join(t for t in ("GDEF", "GSUB", "GPOS") if t in built),
        "copyright": [r.toUnicode() for r in built["name"].names
                      if r.nameID == 0 and r.platformID == 3],
    }


def double_byte(codec, leads, trails):
    """Returns the code points of every character codec decodes from one
    lead byte in leads followed by one trail byte in trails."""
    out = set()
    for a in leads:
        for b in trails:
            try:
                text = bytes([a, b]).decode(codec)
            except UnicodeDecodeError:
                continue
            out.update(ord(c) for c in text)
    return out


def is_han(c):
    return 0x3400 <= c <= 0x9FFF or 0xF900 <= c <= 0xFAFF


def cjk_character_sets():
    """Returns the CJK characters to keep, as sets by standard.

    The national character sets are read from Python's own codecs, so the
    lists are not typed in here: GB 2312 (simplified Chinese, 6,763 hanzi),
    Big5 level 1 (the 5,401 frequently used traditional hanzi), JIS X 0208
    levels 1 and 2 (6,355 kanji) and KS X 1001 (2,350 Hangul syllables and
    4,888 hanja).
    """
    all_trails = range(0xA1, 0xFF)
    gb = {c for c in double_byte("gb2312", range(0xB0, 0xF8), all_trails) if is_han(c)}
    big5 = {c for c in double_byte("big5", range(0xA4, 0xC7), list(range(0x40, 0x7F)) + list(all_trails))
            if is_han(c)}
    jis = {c for c in double_byte("euc_jp", range(0xB0, 0xF5), all_trails) if is_han(c)}
    ksx = double_byte("euc_kr", range(0xB0, 0xFE), all_trails)
    hanja = {c for c in ksx if is_han(c)}
    hangul = {c for c in ksx if 0xAC00 <= c <= 0xD7A3}
    extras = {ord(c) for c in CJK_NAME_EXTRAS}
    return gb, big5, jis, hanja, hangul, extras


# Blocks every CJK face keeps whole (what the source maps of them).
CJK_BLOCKS = [
    (0x1100, 0x11FF, "Hangul Jamo"),
    (0x3000, 0x303F, "CJK Symbols and Punctuation"),
    (0x3040, 0x309F, "Hiragana"),
    (0x30A0, 0x30FF, "Katakana"),
    (0x3130, 0x318F, "Hangul Compatibility Jamo"),
    (0x31F0, 0x31FF, "Katakana Phonetic Extensions"),
    (0xFF00, 0xFFEF, "Halfwidth and Fullwidth Forms"),
]


def cjk_region(c, gb, big5, jis, hanja):
    """Returns the region whose glyph character c gets.

    Characters of a script or set only one region uses take that region's
    glyph (kana and kanji only JIS has: Japanese; Hangul and hanja only
    KS X 1001 has: Korean; hanzi only Big5 has: traditional Chinese); the
    rest take the simplified Chinese glyph. Quire picks faces by the text,
    and a name in hanzi alone does not say which region it comes from.
    """
    if 0x3040 <= c <= 0x30FF or 0x31F0 <= c <= 0x31FF:
        return "jp"
    if 0x1100 <= c <= 0x11FF or 0x3130 <= c <= 0x318F or 0xAC00 <= c <= 0xD7A3:
        return "kr"
    if c in gb:
        return "sc"
    if c in big5:
        return "tc"
    if c in jis:
        return "jp"
    if c in hanja:
        return "kr"
    return "sc"


def to_quadratic(font):
    """Replaces font's CFF outlines with TrueType (glyf) ones in place."""
    glyph_set = font.getGlyphSet()
    order = font.getGlyphOrder()
    glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyph_set)
        # reverse_direction: CFF contours run anticlockwise, TrueType's clockwise.
        glyph_set[name].draw(Cu2QuPen(pen, CU2QU_MAX_ERR, reverse_direction=True))
        glyphs[name] = pen.glyph()
    font["loca"] = newTable("loca")
    glyf = font["glyf"] = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = glyphs
    del font["CFF "]
    font.sfntVersion = "\x00\x01\x00\x00"
    font["head"].glyphDataFormat = 0
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for attr in ("maxZones", "maxTwilightPoints", "maxStorage", "maxFunctionDefs",
                 "maxInstructionDefs", "maxStackElements", "maxSizeOfInstructions",
                 "maxComponentElements", "maxComponentDepth"):
        setattr(maxp, attr, 0)
    maxp.maxZones = 1
    font["post"].formatType = 3.0
    hmtx = font["hmtx"]
    for name in order:
        glyph = glyphs[name]
        glyph.recalcBounds(glyf)
        advance, _ = hmtx[name]
        hmtx[name] = (advance, getattr(glyph, "xMin", 0))


def match_typo_metrics(font):
    """Sets OS/2's typographic ascender, descender and line gap to hhea's.

    Noto CJK's typographic ones (880 and -120) describe the ideographic
    em box, not the line, and differ from hhea's (1151 and -286 in Noto
    Serif CJK). Backends that read one or the other would then set lines
    differently; every other shipped face has the two equal, and a test
    checks that.
    """
    hhea, os2 = font["hhea"], font["OS/2"]
    os2.sTypoAscender, os2.sTypoDescender, os2.sTypoLineGap = hhea.ascent, hhea.descent, hhea.lineGap


def set_cmap(font, mapping):
    """Replaces font's character map with mapping (code point to glyph name)."""
    cmap = newTable("cmap")
    cmap.tableVersion = 0
    cmap.tables = []
    for platform, encoding in ((0, 3), (3, 1)):
        sub = cmap_classes[4](4)
        sub.platformID, sub.platEncID, sub.language = platform, encoding, 0
        sub.cmap = dict(mapping)
        cmap.tables.append(sub)
    font["cmap"] = cmap


def rename_cjk(font, region_name, name):
    """Renames the SC font of a collection after what it now is: all regions."""
    family = region_name.replace("CJKsc", "CJK").replace("-Regular", "")  # NotoSerifCJK
    for record in font["name"].names:
        text = record.toUnicode()
        new = text.replace(region_name.split("-")[0], family)
        for region in (" SC", " JP", " KR", " TC"):
            new = new.replace("CJK" + region, "CJK")
        if new != text:
            font["name"].setName(new, record.nameID, record.platformID, record.platEncID, record.langID)
    if font["name"].getDebugName(6) != name:
        sys.exit(f"build.py: renamed {region_name} to {font['name'].getDebugName(6)}, want {name}")


def build_cjk_face(name, ttc, out_dir):
    """Builds one CJK face from a .ttc collection; returns its facts."""
    src_path = os.path.join(CJK_DIR, ttc)
    with open(src_path, "rb") as f:
        src_bytes = f.read()
    cmaps = {}
    for region, number in CJK_REGIONS.items():
        f = TTFont(io.BytesIO(src_bytes), fontNumber=number, lazy=True)
        want = f"CJK{region}-"
        if want not in f["name"].getDebugName(6):
            sys.exit(f"build.py: font {number} of {ttc} is {f['name'].getDebugName(6)}, want the {region} one")
        cmaps[region] = f.getBestCmap()
    source = TTFont(io.BytesIO(src_bytes), fontNumber=CJK_REGIONS["sc"], recalcTimestamp=False)
    font = TTFont(io.BytesIO(src_bytes), fontNumber=CJK_REGIONS["sc"], recalcTimestamp=False)
    region_name = font["name"].getDebugName(6)
    check_no_reserved_name(font, name)

    gb, big5, jis, hanja, hangul, extras = cjk_character_sets()
    wanted = gb | big5 | jis | hanja | hangul | extras
    for lo, hi, _ in CJK_BLOCKS:
        wanted.update(range(lo, hi + 1))
    wanted.update(c for lo, hi, _ in SHARED for c in range(lo, hi + 1))
    mapping = {}
    for c in sorted(wanted):
        region = cjk_region(c, gb, big5, jis, hanja)
        glyph = cmaps[region].get(c) or cmaps["sc"].get(c)
        if glyph is not None:
            mapping[c] = glyph
    missing = sorted((gb | big5 | jis | hanja | hangul | extras) - set(mapping))
    if missing:
        sys.exit(f"build.py: {ttc} lacks {len(missing)} wanted characters, e.g. U+{missing[0]:04X}")

    options = subset_options()
    # No locl: it would keep every character's other regional glyphs (a
    # third more glyphs) for a shaper told the text's language, and Quire
    # chooses faces by the text alone. cjk_region chooses instead.
    options.layout_features = [f for f in options.layout_features if f != "locl"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(glyphs=sorted(set(mapping.values())))
    subsetter.subset(font)
    set_cmap(font, mapping)
    to_quadratic(font)
    drop_unused_tables(font)
    rename_cjk(font, region_name, name)
    mark_version(font, CJK_VERSION_NOTE)
    match_typo_metrics(font)
    # The advances to check against are the source's, through the mapping
    # actually used (one glyph set, so any region's hmtx will do).
    return finish(name, "CJK", out_dir, src_path, src_bytes, source, font, sorted(mapping), 0,
                  source_cmap=mapping)


def write_sources(out_dir, pkg_version, facts):
    lines = [
        "# Font sources",
        "",
        "Generated by `fonts/build/build.py` (`make fonts`); do not edit by hand.",
        "The build is reproducible: the same sources and fontTools version give",
        "byte-identical fonts (`go test -tags fontbuild ./fonts/` checks this).",
        "",
        *[f"- Debian package: `{pkg}` version `{pkg_version[pkg]}`" for pkg in sorted(pkg_version)],
        f"- Built with fontTools `{fontTools.version}` (Debian `python3-fonttools`)",
        "",
        "## Sources",
        "",
        "| Face | Package | Source file | SHA-256 | Glyphs |",
        "|---|---|---|---|---|",
    ]
    for f in facts:
        lines.append(f"| {f['name']} | `{f['src_package']}` | `{f['src_path']}` | `{f['src_sha256']}` | {f['src_glyphs']} |")
    lines += [
        "",
        "## Outputs",
        "",
        "| File | Script | SHA-256 | Bytes | Glyphs | Characters | Composites flattened | Layout tables |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for f in facts:
        lines.append(f"| `{f['out_file']}` | {f['script']} | `{f['out_sha256']}` | {f['out_size']} | "
                     f"{f['out_glyphs']} | {f['out_chars']} | {f['flattened']} | {f['layout']} |")
    total = sum(f["out_size"] for f in facts)
    lines += [
        "",
        f"Total: {len(facts)} faces, {total} bytes.",
        "",
        "## Character ranges kept",
        "",
        "Each range keeps the characters the source maps in it.",
        "",
        "Latin, Greek and Cyrillic (the faces the templates name):",
        "",
    ]
    for lo, hi, block in RANGES:
        lines.append(f"- U+{lo:04X}–U+{hi:04X} {block}")
    lines += ["", "Every script face, besides its script's blocks:", ""]
    for lo, hi, block in SHARED:
        lines.append(f"- U+{lo:04X}–U+{hi:04X} {block}")
    for script, ranges in SCRIPTS.items():
        lines += ["", f"{script} ({', '.join(SCRIPT_FACES[script])}):", ""]
        for lo, hi, block in ranges:
            lines.append(f"- U+{lo:04X}–U+{hi:04X} {block}")
    lines += [
        "",
        f"CJK ({', '.join(n for n, _ in CJK_FACES)}): the hanzi of GB 2312, the",
        "frequently used hanzi of Big5 (level 1), the kanji of JIS X 0208, the",
        "Hangul syllables and hanja of KS X 1001, a few name hanzi GB 2312 lacks",
        f"({CJK_NAME_EXTRAS}), and these blocks:",
        "",
    ]
    for lo, hi, block in CJK_BLOCKS:
        lines.append(f"- U+{lo:04X}–U+{hi:04X} {block}")
    lines.append("")
    with open(os.path.join(out_dir, "SOURCES.md"), "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines))


def write_embed(out_dir, facts):
    """Writes embed.go, which embeds each face into the binary as a string.

    A string's bytes stay in the executable's read-only data, where the
    kernel reads a page only when it is used; embed.FS.ReadFile would copy
    each face into the heap instead (README.md has the figures).
    """
    names = sorted(f["name"] for f in facts)

    def var(name):
        return "ttf" + name.replace("-", "")

    lines = [
        "// Code generated by build/build.py (make fonts); DO NOT EDIT.",
        "",
        "package fonts",
        "",
        'import _ "embed"',
        "",
    ]
    for name in names:
        lines += [f"//go:embed {name}.ttf", f"var {var(name)} string", ""]
    lines += ["// embedded holds each face's file by name.", "var embedded = map[string]string{"]
    width = max(len(name) for name in names) + 3  # quotes and colon
    for name in names:
        key = f'"{name}":'
        lines.append(f"\t{key.ljust(width)} {var(name)},")
    lines += ["}", ""]
    with open(os.path.join(out_dir, "embed.go"), "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines))


def debian_ofl_text():
    """Returns the OFL 1.1 text from the Debian package's copyright file.

    The copyright file (DEP-5 format) holds the licence as a "License:
    OFL-1.1" paragraph whose lines are indented by one space, with " ." for
    an empty line; this undoes that and nothing else.
    """
    with open(COPYRIGHT_FILE, encoding="utf-8") as f:
        lines = f.read().split("\n")
    # The stand-alone paragraph is the one that starts with the field (the
    # Files paragraphs mention "License: OFL-1.1" after their own fields).
    starts = [i for i, line in enumerate(lines)
              if line == "License: OFL-1.1" and i > 0 and lines[i - 1] == ""]
    if len(starts) != 1:
        sys.exit(f"build.py: no single stand-alone OFL-1.1 paragraph in {COPYRIGHT_FILE}")
    start = starts[0]
    body = []
    for line in lines[start + 1:]:
        if not line.startswith(" "):
            break
        body.append("" if line == " ." else line[1:])
    text = "\n".join(body).strip("\n")
    if not text.startswith("PREAMBLE") or "Reserved Font Name" not in text:
        sys.exit(f"build.py: unexpected OFL text in {COPYRIGHT_FILE}")
    return text


def debian_copyright(copyright_file=COPYRIGHT_FILE):
    """Returns the Copyright lines of the copyright file's "Files: *" paragraph."""
    with open(copyright_file, encoding="utf-8") as f:
        lines = f.read().split("\n")
    try:
        i = lines.index("Files: *")
    except ValueError:
        sys.exit(f"build.py: no \"Files: *\" paragraph in {copyright_file}")
    holders = []
    in_field = False
    for line in lines[i + 1:]:
        if line == "":
            break
        if line.startswith("Copyright:"):
            in_field = True
            rest = line[len("Copyright:"):].strip()
            if rest:
                holders.append(rest)
        elif in_field and line.startswith(" "):
            holders.append(line.strip())
        else:
            in_field = False
    if not holders:
        sys.exit(f"build.py: no copyright holders for the fonts in {copyright_file}")
    return holders


def write_licence(out_dir, facts):
    """Writes OFL.txt: the fonts' own copyright notices, then the licence.

    OFL 1.1 condition 2 asks that every copy carry the copyright notice and
    the licence. The notices are read from the fonts (name ID 0), so they
    are exactly what the shipped files say.
    """
    notices = []
    for f in facts:
        for notice in f["copyright"]:
            if notice not in notices:
                notices.append(notice)
    faces = ", ".join(f["name"] for f in facts)
    lines = [
        "The fonts in this directory are Modified Versions of Noto fonts",
        *textwrap.wrap(f"({faces}),", 72, break_on_hyphens=False),
        "made by build/build.py as described in README.md.",
        "",
        "Copyright notices, as carried in the fonts:",
        "",
    ]
    lines += [f"  {n}" for n in notices]
    lines += [
        "",
        f"Copyright, as Debian's {SOURCE_PACKAGE} copyright file gives it for the fonts:",
        "",
    ]
    lines += [f"  {c}" for c in debian_copyright()]
    if any(f["src_package"] == "fonts-noto-cjk" for f in facts):
        cjk_copyright = "/usr/share/doc/fonts-noto-cjk/copyright"
        with open(cjk_copyright, encoding="utf-8") as f:
            if "License: SIL-1.1\n -----------------------------------------------------------\n SIL OPEN FONT LICENSE Version 1.1" not in f.read():
                sys.exit(f"build.py: {cjk_copyright} does not give the CJK fonts' licence as OFL 1.1")
        lines += [
            "",
            "Copyright, as Debian's fonts-noto-cjk copyright file gives it for the",
            "CJK fonts (NotoSerifCJK-Regular, NotoSansCJK-Regular), which are under",
            "the same licence:",
            "",
        ]
        lines += [f"  {c}" for c in debian_copyright(cjk_copyright)]
    lines += [
        "",
        "This Font Software is licensed under the SIL Open Font License, Version 1.1.",
        "The copyright statements declare no Reserved Font Name.",
        f"The licence text below is copied from {COPYRIGHT_FILE}.",
        "",
        "-----------------------------------------------------------",
        "SIL OPEN FONT LICENSE Version 1.1",
        "-----------------------------------------------------------",
        "",
        debian_ofl_text(),
        "",
    ]
    with open(os.path.join(out_dir, "OFL.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default=os.path.dirname(here),
                        help="directory to write the fonts, SOURCES.md and OFL.txt to "
                             "(default: fonts/, next to this script's directory)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    cjk = dict(CJK_FACES)
    facts = []
    for name, script in FACES:
        if script == "CJK":
            facts.append(build_cjk_face(name, cjk[name], args.out))
        else:
            facts.append(build_face(name, script, args.out))
        print(f"{name}: done", file=sys.stderr)
    pkg_version = {f["src_package"]: package_version(f["src_package"]) for f in facts}
    write_sources(args.out, pkg_version, facts)
    write_licence(args.out, facts)
    write_embed(args.out, facts)
    for f in facts:
        print(f"{f['out_file']}: {f['out_size']} bytes, {f['out_glyphs']} glyphs, "
              f"{f['out_chars']} characters, {f['flattened']} composites flattened, {f['layout'] or 'no layout tables'}")


if __name__ == "__main__":
    main()
