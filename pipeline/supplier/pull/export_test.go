package pull

// The limit on failed authentications, for the tests in package pull_test.
const (
	FailBurst  = failBurst
	FailEvery  = failEvery
	MaxClients = maxClients
)

// Clients returns how many client addresses a remembers failures of.
func (a *API) Clients() int { return a.fails.size() }
