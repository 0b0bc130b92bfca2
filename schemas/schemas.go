// Package schemas holds Quire's published JSON Schemas (draft 2020-12):
// the contracts upstream services can check their messages against before
// sending them, embedded so that Quire can serve them and tests can use
// them.
//
// The schemas describe the shape of each message. Rules a schema cannot
// state well, such as which postcode areas exist or whether a date of loss
// falls after the date of issue, are enforced in Go by the package that
// reads the message (for requests, package request).
package schemas

import "embed"

// FS holds every schema, under its file name in this directory, e.g.
// "envelope-request.v1.schema.json". Each schema's $id ends in that file
// name, so schemas that refer to one another by relative $ref (the
// certificate schemas refer into the envelope request schema) resolve once
// every file is added to a compiler under its $id.
//
// Schemas are read-only once published: a change that rejects a message
// the previous version accepted needs a new version and a new file.
//
//go:embed *.json
var FS embed.FS
