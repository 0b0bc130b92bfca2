package display

import (
	"slices"
	"testing"
)

func TestPieces(t *testing.T) {
	for _, c := range []struct {
		text  string
		marks []Mark
		want  []Piece
	}{
		{"Ada", nil, []Piece{{Text: "Ada"}}},
		{"E\u0300mi", []Mark{{At: 1, DX: -1, DY: -2}}, []Piece{{Text: "E"}, {Text: "\u0300", Start: 1, DX: -1, DY: -2}, {Text: "mi", Start: 3}}},
		{"Ọ\u0300", []Mark{{At: 3, DY: -2}}, []Piece{{Text: "Ọ"}, {Text: "\u0300", Start: 3, DY: -2}}},
		{"E\u0323\u0300", []Mark{{At: 1, DX: 1}, {At: 3, DY: -2}}, []Piece{{Text: "E"}, {Text: "\u0323", Start: 1, DX: 1}, {Text: "\u0300", Start: 3, DY: -2}}},
	} {
		tx := Text{Text: c.text, Marks: c.marks}
		if got := tx.Pieces(); !slices.Equal(got, c.want) {
			t.Errorf("%+q: %+v, want %+v", c.text, got, c.want)
		}
	}
}
