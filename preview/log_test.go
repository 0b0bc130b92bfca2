package preview

import (
	"strings"
	"testing"
)

// TestNothingPersonalIsLogged sends details through every route that takes
// them, good and bad, and checks the log holds the routes and statuses
// but never a word of the details, nor the ETags made from them.
func TestNothingPersonalIsLogged(t *testing.T) {
	s := newTestServer(t, Options{})
	const name, place, year = "Zebedee Quillfeather", "Little Snoring", "2023"
	body := `{"parentName":"` + name + `","placeOfLoss":"` + place + `","dateOfLoss":"` + year + `-05"}`
	var etags []string
	for _, target := range []string{"/api/v1/preview/certificate.png", "/api/v1/preview/certificate.pdf", "/api/v1/preview/certificate.json"} {
		w := s.postJSON(target, body, "X-Request-Id", "req-123")
		wantStatus(t, w, 200)
		etags = append(etags, w.Header().Get("ETag"))
		s.postJSON(target, body, "If-None-Match", w.Header().Get("ETag"))
	}
	s.postJSON("/api/v1/preview/certificate.png", `{"parentName":"`+name+`","babyName":"`+place+` 😀"}`)
	s.postJSON("/api/v1/preview/certificate.png", `{"parentName":"`+name+`",`)
	s.postJSON("/api/v1/preview/certificate.png", `{"parentName":"`+name+`"}`, "X-Request-Id", name)
	s.postForm("/preview", form("parentName", name, "placeOfLoss", place, "dateOfLoss-year", year))
	s.postForm("/preview", form("parentName", name, "dateOfLoss-day", "31", "dateOfLoss-month", "2", "dateOfLoss-year", year))
	s.postForm("/preview/certificate.pdf", form("parentName", name, "placeOfLoss", place))

	log := s.log.String()
	// Numbers alone could turn up in a timing or a size; dates as they
	// were sent or printed could not.
	for _, secret := range append([]string{"Zebedee", "Quillfeather", "Snoring", year + "-05", "May " + year}, etags...) {
		if strings.Contains(log, strings.Trim(secret, `"`)) {
			t.Errorf("the log holds %q:\n%s", secret, log)
		}
	}
	lines := strings.Split(strings.TrimSpace(log), "\n")
	if len(lines) != 12 {
		t.Errorf("%d log lines for 12 requests:\n%s", len(lines), log)
	}
	for _, want := range []string{
		`route="POST /api/v1/preview/certificate.png" status=200`, "cache=miss", "request_id=req-123",
		`route="POST /preview" status=422`, "status=304",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the log does not have %s:\n%s", want, log)
		}
	}
}
