package fonts

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file places combining marks the way the source fonts' GPOS "mark"
// and "mkmk" features would, without shaping. Text is composed (NFC)
// before layout, so nearly every accented letter is one precomposed glyph;
// what is left are sequences Unicode has no single character for, such as
// Yoruba Ẹ̀ (E with dot below, then a combining grave). Drawn plainly, such a
// mark sits where its glyph puts it by default: over a lower-case letter,
// so on a capital it falls into the letter. build.py copies the anchors
// from the source fonts into <face>.marks; PlaceMarks applies them.

// MarkShift moves one combining mark from where a plain run of text puts
// it (straight after the glyph before it, since marks have no advance).
type MarkShift struct {
	// At is the mark's byte offset in the string.
	At int
	// DX and DY are the move in em, DY upwards as in the font.
	DX, DY float64
}

type anchor struct{ x, y int }

type baseKey struct {
	r     rune
	class int
}

type markClass struct {
	class int
	anchor
}

// markToMark is one mkmk lookup: mark1 marks attach to a preceding mark2
// mark, looking past marks outside filter (nil: past none).
type markToMark struct {
	filter       map[rune]bool
	mark1, mark2 map[rune]anchor
}

// attachment is a face's mark attachment data, from <face>.marks.
type attachment struct {
	marks map[rune]markClass
	bases map[baseKey]anchor
	mkmk  []markToMark
}

// readAttachment parses a .marks file (build.py's mark_attachment says
// what each line means).
func readAttachment(data []byte) (*attachment, error) {
	a := &attachment{marks: map[rune]markClass{}, bases: map[baseKey]anchor{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20) // a filter line lists every mark in its set
	for line := 1; sc.Scan(); line++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if err := a.add(f); err != nil {
			return nil, fmt.Errorf("marks line %d: %w", line, err)
		}
	}
	return a, sc.Err()
}

func (a *attachment) add(f []string) error {
	switch {
	case (f[0] == "mark" || f[0] == "base") && len(f) == 5:
		r, n, err := entry(f[1], f[2:])
		if err != nil {
			return err
		}
		if f[0] == "mark" {
			a.marks[r] = markClass{n[0], anchor{n[1], n[2]}}
		} else {
			a.bases[baseKey{r, n[0]}] = anchor{n[1], n[2]}
		}
		return nil
	case f[0] == "mkmk" && len(f) >= 3:
		k, err := strconv.Atoi(f[1])
		if err != nil || k < 0 || k > len(a.mkmk) {
			return fmt.Errorf("mkmk lookup %q out of order", f[1])
		}
		if k == len(a.mkmk) {
			a.mkmk = append(a.mkmk, markToMark{mark1: map[rune]anchor{}, mark2: map[rune]anchor{}})
		}
		m := &a.mkmk[k]
		switch {
		case f[2] == "filter":
			m.filter = map[rune]bool{}
			for _, s := range f[3:] {
				r, _, err := entry(s, nil)
				if err != nil {
					return err
				}
				m.filter[r] = true
			}
			return nil
		case (f[2] == "mark1" || f[2] == "mark2") && len(f) == 6:
			r, n, err := entry(f[3], f[4:])
			if err != nil {
				return err
			}
			if f[2] == "mark1" {
				m.mark1[r] = anchor{n[0], n[1]}
			} else {
				m.mark2[r] = anchor{n[0], n[1]}
			}
			return nil
		}
	}
	return fmt.Errorf("cannot read %q", strings.Join(f, " "))
}

// entry reads a code point in hex and the integers after it.
func entry(cp string, nums []string) (rune, []int, error) {
	r, err := strconv.ParseUint(cp, 16, 21)
	if err != nil {
		return 0, nil, err
	}
	n := make([]int, len(nums))
	for i, s := range nums {
		if n[i], err = strconv.Atoi(s); err != nil {
			return 0, nil, err
		}
	}
	return rune(r), n, nil
}

// isMark reports whether r is a combining mark: drawn over or under the
// character before it rather than after it.
func isMark(r rune) bool { return unicode.In(r, unicode.Mn, unicode.Me) }

// HasMarks reports whether s holds a combining mark. It does not allocate.
func HasMarks(s string) bool {
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if isMark(r) {
			return true
		}
		i += n
	}
	return false
}

// PlaceMarks returns the moves that put each combining mark in s where the
// font's designers placed it on the letter it follows (or on the mark
// before it, for stacked marks), with widths as Width measures them. Marks
// already in the right place, and marks the face has no anchor for, are
// left out. It returns nil for text with no combining marks, which after
// NFC is nearly all text.
func (f *Face) PlaceMarks(s string) []MarkShift {
	if f.attach == nil || !HasMarks(s) {
		return nil
	}
	type placed struct {
		r    rune
		x, y int
	}
	var (
		out     []MarkShift
		cluster []placed // the marks since the last base
		pen     int      // font units from the start of s
		base    rune
		baseX   int
		hasBase bool
	)
	for i, r := range s {
		adv := 0
		if g := f.glyph(r); g != 0 {
			adv = int(f.advances[g])
		}
		if !isMark(r) {
			base, baseX, hasBase = r, pen, true
			cluster = cluster[:0]
			pen += adv
			continue
		}
		x, y := pen, 0
		if m, ok := f.attach.marks[r]; ok && hasBase {
			if b, ok := f.attach.bases[baseKey{base, m.class}]; ok {
				x, y = baseX+b.x-m.x, b.y-m.y
			}
		}
		// Mark to mark, in lookup order as GPOS applies them: a later
		// lookup that matches moves the mark again.
		for _, mm := range f.attach.mkmk {
			m1, ok := mm.mark1[r]
			if !ok {
				continue
			}
			for j := len(cluster) - 1; j >= 0; j-- {
				prev := cluster[j]
				if mm.filter != nil && !mm.filter[prev.r] {
					continue
				}
				if m2, ok := mm.mark2[prev.r]; ok {
					x, y = prev.x+m2.x-m1.x, prev.y+m2.y-m1.y
				}
				break
			}
		}
		cluster = append(cluster, placed{r, x, y})
		if x != pen || y != 0 {
			out = append(out, MarkShift{At: i, DX: float64(x-pen) / f.unitsPerEm, DY: float64(y) / f.unitsPerEm})
		}
		pen += adv
	}
	return out
}
