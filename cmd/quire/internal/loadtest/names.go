package loadtest

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
)

// corpusNames are the values of testdata/names/corpus.json in scripts
// that need more of the shaper than Latin does, by script: Arabic,
// Bengali, Chinese, Devanagari and the rest; every script but Latin,
// Greek and Cyrillic, and no mixed values.
type corpusNames struct {
	scripts []string // sorted
	parents map[string][]string
	babies  map[string][]string
	places  map[string][]string
}

// readCorpus reads a names corpus (testdata/names/README.md).
func readCorpus(path string) (*corpusNames, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var entries []struct{ Script, Field, Value string }
	if err := json.Unmarshal(data, &entries); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c := &corpusNames{parents: map[string][]string{}, babies: map[string][]string{}, places: map[string][]string{}}
	for _, e := range entries {
		switch {
		case e.Script == "Latn", e.Script == "Grek", e.Script == "Cyrl", strings.Contains(e.Script, "+"):
			continue
		case e.Field == "parentName":
			c.parents[e.Script] = append(c.parents[e.Script], e.Value)
		case e.Field == "babyName":
			c.babies[e.Script] = append(c.babies[e.Script], e.Value)
		case e.Field == "placeOfLoss":
			c.places[e.Script] = append(c.places[e.Script], e.Value)
		}
	}
	for s := range c.babies {
		if len(c.parents[s]) > 0 && len(c.places[s]) > 0 {
			c.scripts = append(c.scripts, s)
		}
	}
	slices.Sort(c.scripts)
	if len(c.scripts) == 0 {
		return nil, fmt.Errorf("%s: no script but Latin, Greek and Cyrillic has a parent's name, a baby's name and a place", path)
	}
	return c, nil
}

// certificate is a certificate preview with names and a place in one
// script of the corpus, different for every (kind, i): the scripts take
// turns, and within one, a parent's name, two babies' names and a place
// are combined, with a month of loss, so that a miss is a certificate
// nobody asked for before and its baby's name a line not shaped before
// (until the combinations of a script run out, after some thousands).
func (c *corpusNames) certificate(kind string, i int) string {
	s := c.scripts[i%len(c.scripts)]
	j := i / len(c.scripts)
	if kind == "Hot" {
		j += 1 << 20 // apart from the misses
	}
	ps, bs, ls := c.parents[s], c.babies[s], c.places[s]
	baby := bs[j%len(bs)] + " " + bs[j/len(bs)%len(bs)]
	j /= len(bs) * len(bs)
	place := ls[j%len(ls)]
	j /= len(ls)
	parent := ps[j%len(ps)]
	j /= len(ps)
	month := fmt.Sprintf("%04d-%02d", 2024-j/12%20, 1+j%12)
	body, _ := json.Marshal(map[string]string{"parentName": parent, "babyName": baby, "sex": "female", "dateOfLoss": month, "placeOfLoss": place})
	return string(body)
}
