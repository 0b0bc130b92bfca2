package preview

import (
	"fmt"
	"net/http"
	"testing"
)

// BenchmarkCertificatePNG measures one PNG preview through the handler,
// without the network: drawn afresh each time (miss), or from the cache
// (hit).
func BenchmarkCertificatePNG(b *testing.B) {
	s := newTestServer(b, Options{})
	b.Run("miss", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			w := s.postJSON("/api/v1/preview/certificate.png", fmt.Sprintf(`{"parentName":"Alex Morgan","babyName":"Robin %d","dateOfLoss":"2024-11"}`, i))
			if w.Code != http.StatusOK {
				b.Fatal(w.Code)
			}
		}
	})
	b.Run("hit", func(b *testing.B) {
		for b.Loop() {
			if w := s.postJSON("/api/v1/preview/certificate.png", robin); w.Code != http.StatusOK {
				b.Fatal(w.Code)
			}
		}
	})
}
