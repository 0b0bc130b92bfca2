package printfile

import (
	"slices"

	"github.com/quire-print/quire/request"
)

// postageClasses are the postage classes in print order.
var postageClasses = []string{request.PostageFirst, request.PostageSecond}

// PostageRank is the place of postage class c in print order: 0 for first
// class, 1 for second (or "", which request.Letter reads as second), and 2
// for anything else, which Assemble refuses. A batch's envelopes are
// listed by rank, so that its first-class print files come first and no
// file mixes classes.
func PostageRank(c string) int {
	if c == "" {
		c = request.PostageSecond
	}
	if i := slices.Index(postageClasses, c); i >= 0 {
		return i
	}
	return len(postageClasses)
}
