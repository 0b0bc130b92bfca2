package request

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// PartialDate is a calendar date that may be known only to the month or to
// the year, as a parent may give the date of loss. Month and Day are 0 when
// absent; a Day is never given without a Month. The zero PartialDate means
// "no date".
type PartialDate struct {
	Year, Month, Day int
}

// The two ways ParseDate fails. They are kept apart because a caseworker
// fixes them differently: one is the wrong shape, the other a day that
// never existed. Neither message repeats the date, which may be personal.
var (
	errDateLayout  = errors.New("not written YYYY-MM-DD, YYYY-MM or YYYY")
	errDateNotReal = errors.New("not a real calendar date")
)

var dateLayout = regexp.MustCompile(`^([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?$`)

// ParseDate reads a full date "2025-03-03", a month "2025-03" or a year
// "2025". It accepts nothing else: no other separators, no missing leading
// zeros, no surrounding spaces. The date must exist in the Gregorian
// calendar, so "2025-02-29" and "2025-13" are refused. Years run from 0001
// to 9999; rules such as "not before 1900" belong to the caller.
func ParseDate(s string) (PartialDate, error) {
	m := dateLayout.FindStringSubmatch(s)
	if m == nil {
		return PartialDate{}, errDateLayout
	}
	var d PartialDate
	d.Year, _ = strconv.Atoi(m[1]) // the pattern admits only digits
	if m[2] != "" {
		d.Month, _ = strconv.Atoi(m[2])
	}
	if m[3] != "" {
		d.Day, _ = strconv.Atoi(m[3])
	}
	if d.Year < 1 || (m[2] != "" && (d.Month < 1 || d.Month > 12)) {
		return PartialDate{}, errDateNotReal
	}
	if m[3] != "" && (d.Day < 1 || d.Day > daysIn(d.Year, d.Month)) {
		return PartialDate{}, errDateNotReal
	}
	return d, nil
}

// daysIn returns the number of days in a month, leap years included.
func daysIn(year, month int) int {
	// Day 0 of the next month is the last day of this one.
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// String returns the date as it reads on a certificate: "3 March 2025",
// "March 2025" or "2025", with English month names and no leading zero on
// the day. The zero PartialDate gives "", so an absent date leaves its box
// tidily blank. d should come from ParseDate; a month outside 1–12 gives
// nothing sensible.
func (d PartialDate) String() string {
	switch {
	case d.Year == 0:
		return ""
	case d.Month == 0:
		return strconv.Itoa(d.Year)
	case d.Day == 0:
		return fmt.Sprintf("%s %d", time.Month(d.Month), d.Year)
	default:
		return fmt.Sprintf("%d %s %d", d.Day, time.Month(d.Month), d.Year)
	}
}

// after reports whether d is later than full, compared only as precisely as
// d is known: a loss in "2025-03" is not after an issue on 2025-03-01,
// because the loss may have been on the first.
func (d PartialDate) after(full PartialDate) bool {
	if d.Year != full.Year || d.Month == 0 {
		return d.Year > full.Year
	}
	if d.Month != full.Month || d.Day == 0 {
		return d.Month > full.Month
	}
	return d.Day > full.Day
}
