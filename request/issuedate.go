package request

import (
	"fmt"
	"time"
)

// CheckIssueDates reports each certificate whose dateOfIssue is later than
// the day after now, counted in loc (the cut-off's zone). A certificate
// dated a day ahead is allowed because upstream may approve it late in the
// evening for the next working day; anything later is a mistake that would
// be printed as written.
//
// The rule depends on the clock, so it belongs where a request is first
// accepted, never in rendering: a stored request rendered again months
// later must give the same pages. Dates that do not parse are left to
// Validate, which names their problem.
func CheckIssueDates(e *Envelope, now time.Time, loc *time.Location) Errors {
	if e == nil {
		return nil
	}
	y, m, d := now.In(loc).Date()
	tomorrow := time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
	var errs Errors
	for i, c := range e.Certificates {
		issued, err := ParseDate(c.DateOfIssue)
		if err != nil || issued.Day == 0 {
			continue
		}
		if time.Date(issued.Year, time.Month(issued.Month), issued.Day, 0, 0, 0, 0, time.UTC).After(tomorrow) {
			errs.Add(fmt.Sprintf("certificates[%d].dateOfIssue", i), "is later than tomorrow – a certificate cannot be issued in the future")
		}
	}
	return errs
}
