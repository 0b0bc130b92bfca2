package schedule_test

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests must not depend on the machine's zone files

	"github.com/quire-print/quire/pipeline/batch/schedule"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func mustNew(t *testing.T, c schedule.Config) *schedule.Schedule {
	t.Helper()
	s, err := schedule.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestDefaultAcrossSummerTime: 17:30 on the London clocks is 17:30 UTC in
// winter and 16:30 UTC in summer; the weekends of the last Sundays of March
// and October move it.
func TestDefaultAcrossSummerTime(t *testing.T) {
	s := mustNew(t, schedule.Config{})
	tests := []struct{ after, want string }{
		{"2026-03-26T18:00:00Z", "2026-03-27T17:30:00Z"}, // Friday, GMT
		{"2026-03-27T17:30:00Z", "2026-03-30T16:30:00Z"}, // strictly after; over the spring weekend to BST
		{"2026-03-27T17:29:59Z", "2026-03-27T17:30:00Z"},
		{"2026-03-29T00:59:59Z", "2026-03-30T16:30:00Z"}, // Sunday, the clocks about to go forward
		{"2026-10-23T16:30:00Z", "2026-10-26T17:30:00Z"}, // Friday BST, then Monday GMT
		{"2026-10-23T16:00:00Z", "2026-10-23T16:30:00Z"},
		{"2026-10-25T01:30:00Z", "2026-10-26T17:30:00Z"}, // Sunday, inside the repeated hour
		{"2027-03-26T10:00:00Z", "2027-03-30T16:30:00Z"}, // Good Friday and Easter Monday 2027, BST from the 28th
		{"2027-10-29T16:30:00Z", "2027-11-01T17:30:00Z"}, // last Sunday of October 2027 is the 31st
	}
	for _, tt := range tests {
		got, ok := s.Next(utc(tt.after))
		if !ok || !got.Equal(utc(tt.want)) {
			t.Errorf("Next(%s) = %s, %v; want %s", tt.after, got.UTC().Format(time.RFC3339), ok, tt.want)
		}
		if got.Location() != s.Location() {
			t.Errorf("Next(%s) is in %v, want the schedule's zone", tt.after, got.Location())
		}
	}
	// Friday to Monday over the spring change is 71 hours, not 72.
	fri, _ := s.On(schedule.Date{Year: 2026, Month: time.March, Day: 27})
	mon, _ := s.On(schedule.Date{Year: 2026, Month: time.March, Day: 30})
	if d := mon.Sub(fri); d != 71*time.Hour {
		t.Errorf("Friday to Monday over the spring change: %v, want 71h", d)
	}
	if got := mon.Format("15:04 MST"); got != "17:30 BST" {
		t.Errorf("Monday's cut-off shows %s on London clocks, want 17:30 BST", got)
	}
}

func TestBankHolidaysAreSkipped(t *testing.T) {
	s := mustNew(t, schedule.Config{})
	tests := []struct{ after, want string }{
		{"2026-04-02T18:00:00Z", "2026-04-07T16:30:00Z"}, // Good Friday, weekend, Easter Monday
		{"2026-12-24T18:00:00Z", "2026-12-29T17:30:00Z"}, // Christmas Friday, Boxing Day substitute Monday
		{"2026-12-31T18:00:00Z", "2027-01-04T17:30:00Z"}, // New Year's Day 2027 is a Friday
		{"2027-12-24T18:00:00Z", "2027-12-29T17:30:00Z"}, // both substitute days
	}
	for _, tt := range tests {
		if got, _ := s.Next(utc(tt.after)); !got.Equal(utc(tt.want)) {
			t.Errorf("Next(%s) = %s, want %s", tt.after, got.UTC().Format(time.RFC3339), tt.want)
		}
	}
	for _, d := range schedule.EnglandAndWales {
		if s.WorkingDay(d) {
			t.Errorf("%s is a bank holiday but has a cut-off", d)
		}
		if wd := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Weekday(); wd == time.Saturday || wd == time.Sunday {
			t.Errorf("bank holiday %s is a %s: list the substitute weekday instead", d, wd)
		}
	}
	if got := s.HolidaysKnownUntil(); got != (schedule.Date{Year: 2027, Month: time.December, Day: 31}) {
		t.Errorf("HolidaysKnownUntil = %s, want 2027-12-31", got)
	}

	// A configured list replaces the default; an empty one means none.
	custom := mustNew(t, schedule.Config{Holidays: []schedule.Date{{Year: 2026, Month: time.March, Day: 17}}})
	if custom.WorkingDay(schedule.Date{Year: 2026, Month: time.March, Day: 17}) {
		t.Error("a configured holiday has a cut-off")
	}
	if !custom.WorkingDay(schedule.Date{Year: 2026, Month: time.April, Day: 3}) {
		t.Error("a configured list should replace the default, but Good Friday is still a holiday")
	}
	none := mustNew(t, schedule.Config{Holidays: []schedule.Date{}})
	if !none.WorkingDay(schedule.Date{Year: 2026, Month: time.December, Day: 25}) || none.HolidaysKnownUntil() != (schedule.Date{}) {
		t.Error("an empty holiday list still has holidays")
	}
}

// TestTimesInsideTheChangingHour: a cut-off at 01:30 on a Sunday when the
// clocks go forward (01:30 does not exist) is the moment they jump; when
// they go back (01:30 happens twice) it is the first 01:30.
func TestTimesInsideTheChangingHour(t *testing.T) {
	s := mustNew(t, schedule.Config{At: "01:30", Weekdays: []time.Weekday{time.Sunday}, Holidays: []schedule.Date{}})
	tests := []struct {
		day  schedule.Date
		want string
	}{
		{schedule.Date{Year: 2026, Month: time.March, Day: 22}, "2026-03-22T01:30:00Z"},
		{schedule.Date{Year: 2026, Month: time.March, Day: 29}, "2026-03-29T01:00:00Z"}, // 02:00 BST
		{schedule.Date{Year: 2026, Month: time.April, Day: 5}, "2026-04-05T00:30:00Z"},
		{schedule.Date{Year: 2026, Month: time.October, Day: 25}, "2026-10-25T00:30:00Z"}, // 01:30 BST, not 01:30 GMT
		{schedule.Date{Year: 2026, Month: time.November, Day: 1}, "2026-11-01T01:30:00Z"},
	}
	for _, tt := range tests {
		got, ok := s.On(tt.day)
		if !ok || !got.Equal(utc(tt.want)) {
			t.Errorf("On(%s) = %s, want %s", tt.day, got.UTC().Format(time.RFC3339), tt.want)
		}
	}
	// Next and Last agree with On through both changes, and never repeat.
	prev := utc("2026-03-01T00:00:00Z")
	for range 40 {
		next, ok := s.Next(prev)
		if !ok || !next.After(prev) {
			t.Fatalf("Next(%s) = %s, not later", prev, next)
		}
		if last, ok := s.Last(next); !ok || !last.Equal(next) {
			t.Fatalf("Last(%s) = %s, want the cut-off itself", next, last)
		}
		if last, _ := s.Last(next.Add(-time.Nanosecond)); next.Sub(last) < 6*24*time.Hour {
			t.Fatalf("Last just before %s = %s: two cut-offs in one week", next, last)
		}
		prev = next
	}
}

func TestLast(t *testing.T) {
	s := mustNew(t, schedule.Config{})
	tests := []struct{ at, want string }{
		{"2026-03-30T16:30:00Z", "2026-03-30T16:30:00Z"}, // at the cut-off itself
		{"2026-03-30T16:29:59Z", "2026-03-27T17:30:00Z"},
		{"2026-04-06T12:00:00Z", "2026-04-02T16:30:00Z"}, // Easter Monday: Thursday's
	}
	for _, tt := range tests {
		if got, ok := s.Last(utc(tt.at)); !ok || !got.Equal(utc(tt.want)) {
			t.Errorf("Last(%s) = %s, %v; want %s", tt.at, got.UTC().Format(time.RFC3339), ok, tt.want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		c    schedule.Config
		want []string
	}{
		{schedule.Config{Location: "Mars/Olympus"}, []string{`time zone "Mars/Olympus" is not an IANA zone name`}},
		{schedule.Config{At: "5:30pm"}, []string{`cut-off time "5:30pm" must be HH:MM`}},
		{schedule.Config{At: "24:00"}, []string{`cut-off time "24:00" must be HH:MM`}},
		{schedule.Config{Weekdays: []time.Weekday{}}, []string{"at least one weekday"}},
		{schedule.Config{Weekdays: []time.Weekday{9}}, []string{"weekday 9 is not a day of the week"}},
		{schedule.Config{Holidays: []schedule.Date{{Year: 2026, Month: time.February, Day: 30}}}, []string{"holiday 2026-02-30 is not a real date"}},
		{schedule.Config{Location: "Nowhere", At: "x"}, []string{"time zone", "cut-off time"}},
	}
	for _, tt := range tests {
		_, err := schedule.New(tt.c)
		if err == nil {
			t.Errorf("%+v: no error", tt.c)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: error %q does not say %q", tt.c, err, w)
			}
		}
	}
}

func TestParseDate(t *testing.T) {
	d, err := schedule.ParseDate("2026-12-28")
	if err != nil || d != (schedule.Date{Year: 2026, Month: time.December, Day: 28}) || d.String() != "2026-12-28" {
		t.Errorf("ParseDate = %v, %v", d, err)
	}
	for _, bad := range []string{"2026-2-3", "28/12/2026", "2026-02-30", ""} {
		if _, err := schedule.ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q) accepted", bad)
		}
	}
}
