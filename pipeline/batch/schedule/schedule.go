// Package schedule says when the print cut-offs are: the moments at which
// the batcher gathers every rendered envelope into batches for the print
// supplier.
//
// A cut-off is a time of day on working days in one time zone (by default
// 17:30, Monday to Friday, Europe/London, skipping England and Wales bank
// holidays). Times are wall-clock times in that zone, so the cut-off stays
// at 17:30 on the clocks in the print room when British Summer Time starts
// or ends; in UTC it moves by an hour. Nothing here reads the clock: every
// method is given the time it is asked about.
//
// The zone's rules come from the system's zone database, or from the copy
// embedded in a binary that imports time/tzdata (cmd/quire does), so that
// a bare container works.
package schedule

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults for Config's zero values.
const (
	DefaultLocation = "Europe/London"
	DefaultAt       = "17:30"
)

// DefaultWeekdays are the days with a cut-off when Config.Weekdays is nil.
var DefaultWeekdays = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}

// EnglandAndWales are the bank holidays of England and Wales for 2026 and
// 2027, as published on GOV.UK, including the substitute days when
// Christmas or Boxing Day falls at a weekend. Extend the list (Config.
// Holidays) before the end of 2027: HolidaysKnownUntil says when it runs
// out, and the batcher warns as that day comes near.
var EnglandAndWales = []Date{
	{2026, time.January, 1},   // New Year's Day
	{2026, time.April, 3},     // Good Friday
	{2026, time.April, 6},     // Easter Monday
	{2026, time.May, 4},       // Early May bank holiday
	{2026, time.May, 25},      // Spring bank holiday
	{2026, time.August, 31},   // Summer bank holiday
	{2026, time.December, 25}, // Christmas Day
	{2026, time.December, 28}, // Boxing Day (substitute day)
	{2027, time.January, 1},   // New Year's Day
	{2027, time.March, 26},    // Good Friday
	{2027, time.March, 29},    // Easter Monday
	{2027, time.May, 3},       // Early May bank holiday
	{2027, time.May, 31},      // Spring bank holiday
	{2027, time.August, 30},   // Summer bank holiday
	{2027, time.December, 27}, // Christmas Day (substitute day)
	{2027, time.December, 28}, // Boxing Day (substitute day)
}

// Date is a calendar date, without a time of day or a zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate reads a date written as YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("schedule: %q is not a date written as YYYY-MM-DD", s)
	}
	return DateOf(t), nil
}

// DateOf is the date t falls on, in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// String writes d as YYYY-MM-DD.
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// Before reports whether d is an earlier day than e.
func (d Date) Before(e Date) bool {
	return d.Year < e.Year || d.Year == e.Year && (d.Month < e.Month || d.Month == e.Month && d.Day < e.Day)
}

// addDays returns the date n days after d (n may be negative).
func (d Date) addDays(n int) Date {
	return DateOf(time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC))
}

func (d Date) valid() bool {
	return d.Year > 0 && DateOf(time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC)) == d
}

// Config describes a schedule. The zero value is the default schedule.
type Config struct {
	// Location is the IANA time zone the cut-off time is read in.
	// Default "Europe/London".
	Location string
	// At is the cut-off's time of day in Location, as HH:MM on a 24-hour
	// clock. Default "17:30". A time that does not exist on a day (inside
	// the hour skipped when summer time starts) means the moment the
	// clocks jump; a time that happens twice (inside the hour repeated
	// when it ends) means its first occurrence.
	At string
	// Weekdays are the days of the week that have a cut-off. Default
	// (nil): Monday to Friday.
	Weekdays []time.Weekday
	// Holidays are dates without a cut-off, whatever their weekday.
	// Default (nil): EnglandAndWales. An empty, non-nil slice means no
	// holidays at all.
	Holidays []Date
}

// Schedule computes cut-offs. It is immutable and safe for concurrent use.
type Schedule struct {
	loc          *time.Location
	hour, minute int
	weekdays     [7]bool
	holidays     map[Date]bool
	knownUntil   Date
}

// New checks c and returns its schedule. Every problem is reported at once.
func New(c Config) (*Schedule, error) {
	if c.Location == "" {
		c.Location = DefaultLocation
	}
	if c.At == "" {
		c.At = DefaultAt
	}
	if c.Weekdays == nil {
		c.Weekdays = DefaultWeekdays
	}
	if c.Holidays == nil {
		c.Holidays = EnglandAndWales
	}
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("schedule: "+format, args...)) }

	s := &Schedule{holidays: make(map[Date]bool, len(c.Holidays))}
	loc, err := time.LoadLocation(c.Location)
	if err != nil || c.Location == "Local" {
		add("time zone %q is not an IANA zone name such as Europe/London", c.Location)
	}
	s.loc = loc
	h, m, ok := parseClock(c.At)
	if !ok {
		add("cut-off time %q must be HH:MM on a 24-hour clock, such as 17:30", c.At)
	}
	s.hour, s.minute = h, m
	if len(c.Weekdays) == 0 {
		add("at least one weekday must have a cut-off")
	}
	for _, d := range c.Weekdays {
		if d < time.Sunday || d > time.Saturday {
			add("weekday %d is not a day of the week", d)
			continue
		}
		s.weekdays[d] = true
	}
	for _, d := range c.Holidays {
		if !d.valid() {
			add("holiday %s is not a real date", d)
			continue
		}
		s.holidays[d] = true
		if s.knownUntil.Before(d) {
			s.knownUntil = d
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(c.Holidays) > 0 {
		// The list is taken to cover whole years: up to 31 December of
		// its last year.
		s.knownUntil = Date{s.knownUntil.Year, time.December, 31}
	}
	return s, nil
}

func parseClock(s string) (hour, minute int, ok bool) {
	hs, ms, found := strings.Cut(s, ":")
	if !found || len(hs) != 2 || len(ms) != 2 {
		return 0, 0, false
	}
	h, err1 := strconv.Atoi(hs)
	m, err2 := strconv.Atoi(ms)
	if err1 != nil || err2 != nil || h < 0 || h > 23 || m < 0 || m > 59 {
		return 0, 0, false
	}
	return h, m, true
}

// Location is the schedule's time zone.
func (s *Schedule) Location() *time.Location { return s.loc }

// HolidaysKnownUntil is the last day the holiday list covers (31 December
// of its last year), or the zero Date when the schedule has no holidays.
// Cut-offs after it are computed as if there were no holidays.
func (s *Schedule) HolidaysKnownUntil() Date { return s.knownUntil }

// WorkingDay reports whether d has a cut-off.
func (s *Schedule) WorkingDay(d Date) bool {
	return s.weekdays[time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC).Weekday()] && !s.holidays[d]
}

// On returns the cut-off on date d (in the schedule's zone), and false if d
// is not a working day.
func (s *Schedule) On(d Date) (time.Time, bool) {
	if !s.WorkingDay(d) {
		return time.Time{}, false
	}
	return s.wallClock(d), true
}

// wallClock returns the instant the schedule's time of day is shown on
// the clocks in its zone on date d.
func (s *Schedule) wallClock(d Date) time.Time {
	// The wall-clock reading as if it were UTC; each offset in force
	// around that day gives a candidate instant, valid if the zone shows
	// exactly that reading at it.
	w := time.Date(d.Year, d.Month, d.Day, s.hour, s.minute, 0, 0, time.UTC)
	var offsets []int
	for _, probe := range []time.Duration{-36 * time.Hour, 0, 36 * time.Hour} {
		_, off := w.Add(probe).In(s.loc).Zone()
		if !slices.Contains(offsets, off) {
			offsets = append(offsets, off)
		}
	}
	var first time.Time
	for _, off := range offsets {
		t := w.Add(-time.Duration(off) * time.Second).In(s.loc)
		if t.Hour() == s.hour && t.Minute() == s.minute && DateOf(t) == d && (first.IsZero() || t.Before(first)) {
			first = t
		}
	}
	if !first.IsZero() {
		return first
	}
	// The reading does not exist that day: the clocks jumped over it. The
	// cut-off is the moment they jumped, when the zone period that the
	// reading falls into under the earlier offset began.
	_, before := w.Add(-36 * time.Hour).In(s.loc).Zone()
	start, _ := w.Add(-time.Duration(before) * time.Second).In(s.loc).ZoneBounds()
	return start
}

// maxGap bounds the search for the next or previous cut-off, in days: a
// schedule with at least one weekday has one every week unless its
// holiday list blocks out more than a year.
const maxGap = 400

// Next returns the first cut-off strictly after t, and false if there is
// none in the 400 days after it.
func (s *Schedule) Next(t time.Time) (time.Time, bool) {
	d := DateOf(t.In(s.loc))
	for range maxGap {
		if c, ok := s.On(d); ok && c.After(t) {
			return c, true
		}
		d = d.addDays(1)
	}
	return time.Time{}, false
}

// Last returns the latest cut-off at or before t, and false if there was
// none in the 400 days before it.
func (s *Schedule) Last(t time.Time) (time.Time, bool) {
	d := DateOf(t.In(s.loc))
	for range maxGap {
		if c, ok := s.On(d); ok && !c.After(t) {
			return c, true
		}
		d = d.addDays(-1)
	}
	return time.Time{}, false
}
