package request

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
)

// ContentHash returns the hex SHA-256 of a canonical JSON encoding of the
// envelope after normalisation. Two requests with the same content have the
// same hash however their JSON was laid out (key order, white space, escapes,
// letter case of a postcode, defaults left out or spelt out). The pipeline
// compares it when an envelope id arrives a second time: same hash, a
// harmless redelivery; different hash, a conflict to refuse.
//
// The canonical encoding is encoding/json's encoding of Envelope: fields in
// struct order, optional fields left out when empty. A field added to the
// model later must be optional and omitted when empty, or every stored hash
// would change.
//
// e itself is not changed: ContentHash normalises a copy, so it may be called
// on an envelope built in Go as well as on one from Decode.
func (e *Envelope) ContentHash() string {
	c := *e
	c.Recipient.Address = slices.Clone(e.Recipient.Address)
	c.Certificates = slices.Clone(e.Certificates)
	c.normalise()
	canonical, err := json.Marshal(&c)
	if err != nil {
		// Envelope holds only strings, ints and slices of them.
		panic("request: cannot encode an envelope: " + err.Error())
	}
	sum := sha256.Sum256(canonical)
	return hex.EncodeToString(sum[:])
}
