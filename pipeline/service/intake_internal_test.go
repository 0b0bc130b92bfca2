package service

import (
	"net"
	"testing"
)

// The Host a request names must be the listener's IP address, any IP
// address for a listener on every interface, or localhost on loopback:
// never a name, which is what a rebinding page sends.
func TestHostIsListener(t *testing.T) {
	for _, tt := range []struct {
		listener, host string
		want           bool
	}{
		{"127.0.0.1:8080", "127.0.0.1:8080", true},
		{"127.0.0.1:8080", "127.0.0.1:18080", true}, // a port forward
		{"127.0.0.1:8080", "localhost:8080", true},
		{"127.0.0.1:8080", "LOCALHOST", true},
		{"127.0.0.1:8080", "10.0.0.5:8080", false},
		{"127.0.0.1:8080", "rebind.evil.example:8080", false},
		{"[::1]:8080", "[::1]:8080", true},
		{"[::1]:8080", "localhost:8080", true},
		{"0.0.0.0:9090", "10.0.0.5:9090", true},
		{"0.0.0.0:9090", "localhost:9090", true},
		{"0.0.0.0:9090", "quire-admin.quire.svc:9090", false},
		{"10.0.0.5:9090", "localhost:9090", false},
		{"10.0.0.5:9090", "10.0.0.5:9090", true},
		{"10.0.0.5:9090", "", false},
	} {
		addr, err := net.ResolveTCPAddr("tcp", tt.listener)
		if err != nil {
			t.Fatal(err)
		}
		if got := (&intake{addr: addr}).hostIsListener(tt.host); got != tt.want {
			t.Errorf("listener %s, Host %q: %v, want %v", tt.listener, tt.host, got, tt.want)
		}
	}
}
