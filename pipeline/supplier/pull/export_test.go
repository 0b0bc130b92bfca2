package pull

import "github.com/quire-print/quire/internal/bearer"

// The limit on failed authentications, for the tests in package pull_test.
const (
	FailBurst  = bearer.FailBurst
	FailEvery  = bearer.FailEvery
	MaxClients = bearer.MaxClients
)

// Clients returns how many client addresses a remembers failures of.
func (a *API) Clients() int { return a.fails.Size() }
