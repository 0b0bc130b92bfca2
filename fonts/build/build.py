#!/usr/bin/python3
"""Prepare the fonts Quire embeds from Debian's Noto font packages.

Run it as `make fonts` (or `/usr/bin/python3 fonts/build/build.py [DIR]`).
It reads the Noto TrueType files installed by Debian's fonts-noto-core
(and fonts-noto-extra, which holds the Medium weight of Noto Serif
Display), and for each face Quire ships it:

  1. flattens every composite glyph into a simple glyph, because gopdf's
     subsetter follows only one level of components and would print nested
     composites (Noto's "Ḉ", "·", "½", ...) with parts missing;
  2. keeps only the characters in RANGES (see fonts/README.md for why);
  3. drops what neither of Quire's backends uses: hinting (fpgm, prep, cvt,
     gasp, glyph instructions), layout tables (GSUB, GPOS, GDEF: nothing in
     Quire shapes text), DSIG, and glyph names (post format 3);
  4. checks its own work (no composites left, advance widths and the
     character map unchanged against the source) and writes DIR/<face>.ttf,
     DIR/SOURCES.md (what went in, what came out) and DIR/OFL.txt (the
     fonts' copyright notices and the licence, from the Debian package);
  5. writes DIR/<face>.marks: where the source's GPOS "mark" and "mkmk"
     lookups attach combining marks, by character, so that Quire can place
     a mark that has no precomposed letter (Yoruba Ẹ̀) without shaping.

The output depends only on the input files and the fontTools version: the
same inputs give byte-identical outputs. head.created and head.modified are
kept from the source rather than set to the time of the build, and
SOURCES.md contains no timestamps. It needs only Debian packages:
fonts-noto-core and python3-fonttools (plus dpkg-query, to record the
package version). It downloads nothing.
"""

import argparse
import hashlib
import io
import os
import subprocess
import sys

import fontTools
from fontTools import subset
from fontTools.ttLib import TTFont
from fontTools.ttLib.tables import _g_l_y_f as glyf_module
from fontTools.ttLib.tables import ttProgram

SOURCE_PACKAGE = "fonts-noto-core"
# The packages a face may come from: both are built from Debian's
# fonts-noto source package, and their copyright files are the same.
SOURCE_PACKAGES = ["fonts-noto-core", "fonts-noto-extra"]
SOURCE_DIR = "/usr/share/fonts/truetype/noto"
COPYRIGHT_FILE = "/usr/share/doc/fonts-noto-core/copyright"

# The faces Quire ships, by PostScript name; each is SOURCE_DIR/<name>.ttf.
FACES = [
    "NotoSans-Regular",
    "NotoSans-Bold",
    "NotoSerif-Regular",
    "NotoSerif-Bold",
    "NotoSerifDisplay-Medium",
]

# The characters kept, as inclusive (first, last, block name) ranges. A
# character is kept when the source font maps it. C0 and C1 control
# characters are left out on purpose: they are not printable, and leaving
# them unmapped lets fonts.Face.Missing report them (Noto maps U+0000 and
# U+000D to empty glyphs, which would otherwise print as nothing).
RANGES = [
    (0x0020, 0x007E, "Basic Latin (printable)"),
    (0x00A0, 0x00FF, "Latin-1 Supplement (printable)"),
    (0x0100, 0x017F, "Latin Extended-A"),
    (0x0180, 0x024F, "Latin Extended-B"),
    # Not in the brief's list, but Latin Extended-B has capitals whose small
    # letters live here: Azerbaijani Ə/ə (U+018F/U+0259), and Ɛ/ɛ, Ɔ/ɔ, Ŋ's
    # relatives used in West African names. A name that prints in capitals
    # but not in lower case would be a trap.
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

# The tables the output keeps: what gopdf's TTF parser and
# golang.org/x/image/font/sfnt read. Anything else is dropped.
KEEP_TABLES = {
    "cmap", "glyf", "head", "hhea", "hmtx", "loca", "maxp", "name", "OS/2", "post",
}

VERSION_NOTE = (
    "Quire build: composites flattened, hinting and layout tables removed, "
    "subset to Latin, Greek and Cyrillic"
)


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
        sys.exit(f"build.py: no Debian package owns {path} (install {' and '.join(SOURCE_PACKAGES)}): {err}")
    pkg = out.stdout.split(":", 1)[0].strip()
    if pkg not in SOURCE_PACKAGES:
        sys.exit(f"build.py: {path} comes from {pkg}, not one of {SOURCE_PACKAGES}")
    copyright_file = f"/usr/share/doc/{pkg}/copyright"
    with open(copyright_file, "rb") as a, open(COPYRIGHT_FILE, "rb") as b:
        if a.read() != b.read():
            sys.exit(f"build.py: {copyright_file} differs from {COPYRIGHT_FILE}; OFL.txt quotes only the latter")
    return pkg


def wanted_unicodes(font):
    """Returns the sorted code points of font's cmap that fall in RANGES."""
    cmap = font.getBestCmap()
    return sorted(c for c in cmap if any(lo <= c <= hi for lo, hi, _ in RANGES))


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


def subset_font(font, unicodes):
    """Subsets font in place to unicodes and drops the unused tables."""
    options = subset.Options()
    options.layout_features = []
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "DSIG", "gasp", "kern"]
    options.hinting = False
    options.glyph_names = False  # post format 3
    options.notdef_outline = True  # keep .notdef's box: missing glyphs show
    options.name_IDs = ["*"]  # keep the copyright, trademark and licence records
    options.recalc_timestamp = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=unicodes)
    subsetter.subset(font)
    for tag in sorted(font.keys()):
        if tag != "GlyphOrder" and tag not in KEEP_TABLES:
            del font[tag]


def mark_version(font):
    """Says in the version string (name ID 5) that this is a modified build.

    The source's version string names the ttfautohint run, which is no longer
    true once hinting is gone. Family and PostScript names are kept: Noto has
    no Reserved Font Name, and PDF readers show the PostScript name.
    """
    name = font["name"]
    for record in name.names:
        if record.nameID == 5:
            version = record.toUnicode().split(";")[0]
            name.setName(f"{version}; {VERSION_NOTE}", 5,
                         record.platformID, record.platEncID, record.langID)


def verify(source, built, unicodes):
    """Fails unless built draws exactly unicodes with the source's advances."""
    src_cmap = source.getBestCmap()
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
    if built["post"].formatType != 3.0:
        sys.exit("build.py: post table still carries glyph names")


def unwrap(lookup):
    """Yields (type, subtable) for lookup, looking through extensions."""
    for st in lookup.SubTable:
        if lookup.LookupType == 9:
            yield st.ExtensionLookupType, st.ExtSubTable
        else:
            yield lookup.LookupType, st


def feature_lookups(gpos, tag):
    """Returns the sorted indices of the lookups feature tag uses, in any script."""
    out = set()
    for rec in gpos.FeatureList.FeatureRecord:
        if rec.FeatureTag == tag:
            out.update(rec.Feature.LookupListIndex)
    return sorted(out)


def mark_attachment(source, unicodes):
    """Returns the lines of <face>.marks: source's mark attachment by character.

    Only characters in unicodes are written. Anchors are in font units and
    the output's glyphs keep the source's outlines and advances (flattening
    moves no point), so the source's anchors hold for the built font.

      mark CP CLASS X Y          a combining mark's anchor, for "mark"
      base CP CLASS X Y          where a base character takes marks of CLASS
      mkmk N filter CP...        the marks mark-to-mark lookup N looks at
      mkmk N mark1 CP X Y        a mark that lookup N attaches to a mark
      mkmk N mark2 CP X Y        a mark that takes it

    Mark classes are renumbered per face in the order the "mark" lookups
    define them, so that several subtables cannot clash.
    """
    gpos = source["GPOS"].table
    gdef = source["GDEF"].table
    sets = gdef.MarkGlyphSetsDef.Coverage if getattr(gdef, "MarkGlyphSetsDef", None) else []
    chars = {}
    wanted = set(unicodes)
    for cp, glyph in source.getBestCmap().items():
        if cp in wanted:
            chars.setdefault(glyph, []).append(cp)

    def cps(glyph):
        return sorted(chars.get(glyph, []))

    marks, bases = {}, {}
    n_classes = 0
    for index in feature_lookups(gpos, "mark"):
        for kind, st in unwrap(gpos.LookupList.Lookup[index]):
            if kind != 4:
                continue  # mark-to-ligature: no ligatures without shaping
            first = n_classes
            n_classes += st.ClassCount
            for glyph, rec in zip(st.MarkCoverage.glyphs, st.MarkArray.MarkRecord):
                for cp in cps(glyph):
                    marks.setdefault(cp, (first + rec.Class, rec.MarkAnchor.XCoordinate, rec.MarkAnchor.YCoordinate))
            for glyph, rec in zip(st.BaseCoverage.glyphs, st.BaseArray.BaseRecord):
                for cp in cps(glyph):
                    for cls, anchor in enumerate(rec.BaseAnchor):
                        if anchor is not None:
                            bases.setdefault((cp, first + cls), (anchor.XCoordinate, anchor.YCoordinate))

    lines = [f"mark {cp:04X} {c} {x} {y}" for cp, (c, x, y) in sorted(marks.items())]
    lines += [f"base {cp:04X} {c} {x} {y}" for (cp, c), (x, y) in sorted(bases.items())]
    for n, index in enumerate(feature_lookups(gpos, "mkmk")):
        lookup = gpos.LookupList.Lookup[index]
        if lookup.LookupFlag & ~0x10:
            sys.exit(f"build.py: mkmk lookup {index} has flags {lookup.LookupFlag:#x}; only a mark filtering set is supported")
        if lookup.LookupFlag & 0x10:
            members = sorted(cp for g in sets[lookup.MarkFilteringSet].glyphs for cp in cps(g))
            lines.append(f"mkmk {n} filter " + " ".join(f"{cp:04X}" for cp in members))
        m1, m2 = {}, {}
        for kind, st in unwrap(lookup):
            if kind != 6:
                sys.exit(f"build.py: mkmk lookup {index} has a subtable of type {kind}")
            if st.ClassCount != 1:
                sys.exit(f"build.py: mkmk lookup {index} has {st.ClassCount} classes; one is supported")
            for glyph, rec in zip(st.Mark1Coverage.glyphs, st.Mark1Array.MarkRecord):
                for cp in cps(glyph):
                    m1.setdefault(cp, (rec.MarkAnchor.XCoordinate, rec.MarkAnchor.YCoordinate))
            for glyph, rec in zip(st.Mark2Coverage.glyphs, st.Mark2Array.Mark2Record):
                anchor = rec.Mark2Anchor[0]
                if anchor is None:
                    continue
                for cp in cps(glyph):
                    m2.setdefault(cp, (anchor.XCoordinate, anchor.YCoordinate))
        lines += [f"mkmk {n} mark1 {cp:04X} {x} {y}" for cp, (x, y) in sorted(m1.items())]
        lines += [f"mkmk {n} mark2 {cp:04X} {x} {y}" for cp, (x, y) in sorted(m2.items())]
    return lines


def build_face(name, out_dir):
    """Builds one face; returns a dict of facts for SOURCES.md."""
    src_path = os.path.join(SOURCE_DIR, name + ".ttf")
    with open(src_path, "rb") as f:
        src_bytes = f.read()

    # recalcTimestamp=False keeps head.modified from the source, so the
    # output does not depend on when the build ran.
    source = TTFont(io.BytesIO(src_bytes), recalcTimestamp=False)
    font = TTFont(io.BytesIO(src_bytes), recalcTimestamp=False)
    check_no_reserved_name(font, name)
    check_composite_bounds(font)
    unicodes = wanted_unicodes(font)
    flattened = flatten_composites(font)
    subset_font(font, unicodes)
    mark_version(font)

    buf = io.BytesIO()
    font.save(buf)
    out_bytes = buf.getvalue()

    # Verify what was written, not the in-memory object.
    built = TTFont(io.BytesIO(out_bytes))
    verify(source, built, unicodes)
    if built["head"].modified != source["head"].modified:
        sys.exit(f"build.py: {name}: head.modified changed")

    out_path = os.path.join(out_dir, name + ".ttf")
    with open(out_path, "wb") as f:
        f.write(out_bytes)
    attach = mark_attachment(source, unicodes)
    header = [f"# {name}: where combining marks attach, from the source's GPOS",
              "# (fonts/build/build.py writes this; see fonts/README.md)."]
    marks_bytes = ("\n".join(header + attach) + "\n").encode("ascii")
    with open(os.path.join(out_dir, name + ".marks"), "wb") as f:
        f.write(marks_bytes)
    return {
        "name": name,
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
        "marks_file": name + ".marks",
        "marks_sha256": sha256(marks_bytes),
        "marks_size": len(marks_bytes),
        "copyright": [r.toUnicode() for r in built["name"].names
                      if r.nameID == 0 and r.platformID == 3],
    }


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
        "| File | SHA-256 | Bytes | Glyphs | Characters | Composites flattened |",
        "|---|---|---|---|---|---|",
    ]
    for f in facts:
        lines.append(f"| `{f['out_file']}` | `{f['out_sha256']}` | {f['out_size']} | "
                     f"{f['out_glyphs']} | {f['out_chars']} | {f['flattened']} |")
    lines += [
        "",
        "Mark attachment, from each source's GPOS `mark` and `mkmk` lookups:",
        "",
        "| File | SHA-256 | Bytes |",
        "|---|---|---|",
    ]
    for f in facts:
        lines.append(f"| `{f['marks_file']}` | `{f['marks_sha256']}` | {f['marks_size']} |")
    lines += [
        "",
        "## Character ranges kept",
        "",
        "Each range keeps the characters the source maps in it.",
        "",
    ]
    for lo, hi, block in RANGES:
        lines.append(f"- U+{lo:04X}–U+{hi:04X} {block}")
    lines.append("")
    with open(os.path.join(out_dir, "SOURCES.md"), "w", encoding="utf-8", newline="\n") as f:
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


def debian_copyright():
    """Returns the Copyright lines of the copyright file's "Files: *" paragraph."""
    with open(COPYRIGHT_FILE, encoding="utf-8") as f:
        lines = f.read().split("\n")
    try:
        i = lines.index("Files: *")
    except ValueError:
        sys.exit(f"build.py: no \"Files: *\" paragraph in {COPYRIGHT_FILE}")
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
        sys.exit(f"build.py: no copyright holders for the fonts in {COPYRIGHT_FILE}")
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
        f"({faces}),",
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

    facts = [build_face(name, args.out) for name in FACES]
    pkg_version = {f["src_package"]: package_version(f["src_package"]) for f in facts}
    write_sources(args.out, pkg_version, facts)
    write_licence(args.out, facts)
    for f in facts:
        print(f"{f['out_file']}: {f['out_size']} bytes, {f['out_glyphs']} glyphs, "
              f"{f['out_chars']} characters, {f['flattened']} composites flattened")


if __name__ == "__main__":
    main()
