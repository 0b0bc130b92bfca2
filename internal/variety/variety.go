// Package variety makes many different requests from one sample, for
// benchmarks and the load harness: real traffic names different people at
// different addresses, and anything Quire reuses between documents (font
// subsets, preview images) must be measured against that, not against one
// request repeated.
//
// The names are invented, drawn from common UK given names and surnames,
// about one in six with a letter outside ASCII.
package variety

import (
	"encoding/json"
	"fmt"
)

var (
	given = []string{
		"Oliver", "Amelia", "George", "Isla", "Noah", "Ava", "Arthur", "Mia", "Muhammad", "Ivy",
		"Leo", "Lily", "Harry", "Freya", "Oscar", "Grace", "Archie", "Sophia", "Jack", "Evie",
		"Thomas", "Chloé", "Jacob", "Zoë", "Aled", "Siobhán", "Rhys", "Niamh", "Eilidh", "Seán",
		"Priya", "Amir", "Kwame", "Ngozi", "Tomasz", "Agnieszka", "Björn", "José", "Ayesha", "Yusuf",
		"Charlotte", "Daniel", "Hannah", "Ewan", "Ffion", "Callum", "Ruby", "Ibrahim", "Maja", "Luca",
	}
	family = []string{
		"Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Robinson",
		"Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson",
		"Khan", "Begum", "Okafor", "Mensah", "Nowak", "Kowalczyk", "Ó Briain", "MacLeod", "Hughes", "Edwards",
		"Lewis", "Clarke", "Murphy", "O'Connor", "Ahmed", "Singh", "Łukasiewicz", "Müller", "García", "Rossi",
	}
	streets = []string{
		"Wellington Terrace", "Church Lane", "Station Road", "Victoria Street", "Mill Close",
		"Park Avenue", "Queen's Drive", "Heol y Parc", "Brookfield Way", "Orchard Gardens",
	}
	towns = []struct{ town, postcode string }{
		{"Exeter", "EX2 4LP"}, {"Leeds", "LS6 2QT"}, {"Cardiff", "CF24 3AA"}, {"Norwich", "NR2 1DN"},
		{"Bristol", "BS3 4RG"}, {"Sheffield", "S10 2TN"}, {"Preston", "PR1 8UY"}, {"Luton", "LU2 0NP"},
	}
	babies = []string{"Ada", "Rose", "Alfie", "Hope", "Elsie", "Teddy", "Bonnie", "Finn", "Seren", "Ezra", "Zoë", "Rowan"}
)

// Request returns sample, a request as JSON, with its envelope id set to
// id and its people and address replaced by the i'th of many invented
// ones. Fields the sample leaves out stay out, so optional boxes that
// are blank in the sample stay blank.
func Request(sample []byte, id string, i int) ([]byte, error) {
	var req map[string]any
	if err := json.Unmarshal(sample, &req); err != nil {
		return nil, fmt.Errorf("variety: %w", err)
	}
	pick := func(list []string, salt int) string { return list[(i*7+salt*13+i/len(list))%len(list)] }
	parent := pick(given, 1) + " " + pick(family, 2)
	other := pick(given, 3) + " " + pick(family, 4)
	req["envelopeId"] = id
	if r, ok := req["recipient"].(map[string]any); ok {
		r["name"] = parent
		if _, ok := r["address"]; ok {
			t := towns[(i*5)%len(towns)]
			r["address"] = []string{fmt.Sprintf("%d %s", 1+i%180, pick(streets, 5)), t.town, t.postcode}
		}
	}
	if certs, ok := req["certificates"].([]any); ok {
		for k, c := range certs {
			c, ok := c.(map[string]any)
			if !ok {
				continue
			}
			c["parentName"] = parent
			if _, ok := c["otherParentName"]; ok {
				c["otherParentName"] = other
			}
			if _, ok := c["babyName"]; ok {
				c["babyName"] = pick(babies, 6+k)
			}
		}
	}
	return json.Marshal(req)
}
