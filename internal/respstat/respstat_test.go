package respstat

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestWriter(t *testing.T) {
	for _, c := range []struct {
		name   string
		handle func(http.ResponseWriter)
		status int
		bytes  int
	}{
		{"nothing written", func(http.ResponseWriter) {}, 200, 0},
		{"body only", func(w http.ResponseWriter) { w.Write([]byte("hello")) }, 200, 5},
		{"status then body", func(w http.ResponseWriter) { w.WriteHeader(404); w.Write([]byte("no")) }, 404, 2},
		{"second status ignored", func(w http.ResponseWriter) { w.WriteHeader(503); w.WriteHeader(200) }, 503, 0},
	} {
		rec := httptest.NewRecorder()
		w := &Writer{ResponseWriter: rec}
		c.handle(w)
		if w.Status() != c.status || w.Bytes != c.bytes || rec.Code != c.status {
			t.Errorf("%s: noted %d, %d bytes; sent %d; want %d, %d bytes", c.name, w.Status(), w.Bytes, rec.Code, c.status, c.bytes)
		}
	}
	rec := httptest.NewRecorder()
	if w := (&Writer{ResponseWriter: rec}); w.Unwrap() != rec {
		t.Error("Unwrap does not give the ResponseWriter underneath")
	}
}
