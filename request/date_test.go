package request

import (
	"errors"
	"testing"
)

func TestParseDate(t *testing.T) {
	tests := []struct {
		in   string
		want PartialDate
		err  error
	}{
		{"2025-03-03", PartialDate{2025, 3, 3}, nil},
		{"2025-03", PartialDate{2025, 3, 0}, nil},
		{"2025", PartialDate{2025, 0, 0}, nil},
		{"2024-02-29", PartialDate{2024, 2, 29}, nil},
		{"2000-02-29", PartialDate{2000, 2, 29}, nil}, // divisible by 400
		{"1900-02-28", PartialDate{1900, 2, 28}, nil},
		{"0001-01-01", PartialDate{1, 1, 1}, nil},
		{"9999-12-31", PartialDate{9999, 12, 31}, nil},
		{"1900-02-29", PartialDate{}, errDateNotReal}, // divisible by 100
		{"2025-02-29", PartialDate{}, errDateNotReal},
		{"2025-02-30", PartialDate{}, errDateNotReal},
		{"2025-04-31", PartialDate{}, errDateNotReal},
		{"2025-00-01", PartialDate{}, errDateNotReal},
		{"2025-13", PartialDate{}, errDateNotReal},
		{"2025-01-00", PartialDate{}, errDateNotReal},
		{"2025-01-32", PartialDate{}, errDateNotReal},
		{"0000", PartialDate{}, errDateNotReal},
		{"", PartialDate{}, errDateLayout},
		{"25", PartialDate{}, errDateLayout},
		{"2025-3-3", PartialDate{}, errDateLayout},
		{"2025/03/03", PartialDate{}, errDateLayout},
		{"03/03/2025", PartialDate{}, errDateLayout},
		{" 2025", PartialDate{}, errDateLayout},
		{"2025-03-03T00:00:00Z", PartialDate{}, errDateLayout},
		{"+2025", PartialDate{}, errDateLayout},
		{"２０２５", PartialDate{}, errDateLayout}, // full-width digits
	}
	for _, tt := range tests {
		got, err := ParseDate(tt.in)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("ParseDate(%q) = %v, %v; want %v, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestPartialDateString(t *testing.T) {
	tests := []struct {
		d    PartialDate
		want string
	}{
		{PartialDate{2025, 3, 3}, "3 March 2025"},
		{PartialDate{2025, 12, 25}, "25 December 2025"},
		{PartialDate{2025, 3, 0}, "March 2025"},
		{PartialDate{2025, 0, 0}, "2025"},
		{PartialDate{}, ""},
	}
	for _, tt := range tests {
		if got := tt.d.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestPartialDateAfter(t *testing.T) {
	issue := PartialDate{2025, 3, 15}
	tests := []struct {
		loss PartialDate
		want bool
	}{
		{PartialDate{2025, 3, 14}, false},
		{PartialDate{2025, 3, 15}, false},
		{PartialDate{2025, 3, 16}, true},
		{PartialDate{2025, 2, 28}, false},
		{PartialDate{2025, 4, 1}, true},
		{PartialDate{2025, 3, 0}, false}, // may have been on or before the 15th
		{PartialDate{2025, 4, 0}, true},
		{PartialDate{2025, 2, 0}, false},
		{PartialDate{2025, 0, 0}, false},
		{PartialDate{2026, 0, 0}, true},
		{PartialDate{2024, 12, 31}, false},
		{PartialDate{2026, 1, 1}, true},
	}
	for _, tt := range tests {
		if got := tt.loss.after(issue); got != tt.want {
			t.Errorf("%v.after(%v) = %v, want %v", tt.loss, issue, got, tt.want)
		}
	}
}
