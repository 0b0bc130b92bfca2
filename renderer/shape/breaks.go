package shape

import (
	"regexp"

	"github.com/go-text/typesetting/segmenter"
)

// Break is a place a line may end (UAX #14): after Text's bytes up to
// End, the spaces from WordEnd to End hanging at the line's end.
type Break struct {
	WordEnd, End int
}

// postcode matches a UK postcode's two halves, which must stay on one line
// ("London SE1" / "7EH" would not be delivered).
var postcode = regexp.MustCompile(`\b[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}\b`)

// Breaks lists where the line may be broken, in order, ending with its
// end: UAX #14's opportunities (spaces, after hyphens, between
// ideographs), except inside a UK postcode. It is computed once per line.
func (l *Line) Breaks() []Break {
	l.breaksOnce.Do(func() {
		text := l.Text
		keep := postcode.FindAllStringIndex(text, -1)
		var seg segmenter.Segmenter
		seg.Init([]rune(text))
		it := seg.LineIterator()
		for it.Next() {
			ln := it.Line()
			end := ln.OffsetInBytes + ln.LengthInBytes
			if inside(keep, end) && end < len(text) {
				continue
			}
			word := end
			for word > 0 && text[word-1] == ' ' {
				word--
			}
			l.breaks = append(l.breaks, Break{WordEnd: word, End: end})
		}
	})
	return l.breaks
}

// inside reports whether byte offset at falls strictly within a span.
func inside(spans [][]int, at int) bool {
	for _, s := range spans {
		if at > s[0] && at < s[1] {
			return true
		}
	}
	return false
}
