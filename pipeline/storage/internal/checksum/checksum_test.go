package checksum

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/quire-print/quire/pipeline/storage"
)

func TestReaderMatches(t *testing.T) {
	const s = "hello, world"
	got, err := io.ReadAll(NewReader(iotest.OneByteReader(strings.NewReader(s)), int64(len(s)), Sum([]byte(s))))
	if err != nil || string(got) != s {
		t.Errorf("ReadAll = %q, %v", got, err)
	}
}

// On a mismatch the last chunk is withheld, so a consumer never sees the
// whole (wrong) content followed by EOF.
func TestReaderWithholdsLastChunk(t *testing.T) {
	const s = "hello, world"
	r := NewReader(strings.NewReader(s), int64(len(s)), Sum([]byte("other")))
	buf := make([]byte, 5)
	var got []byte
	var err error
	for err == nil {
		var n int
		n, err = r.Read(buf)
		got = append(got, buf[:n]...)
	}
	if !errors.Is(err, storage.ErrChecksum) {
		t.Fatalf("err = %v, want ErrChecksum", err)
	}
	if len(got) >= len(s) {
		t.Errorf("read %d bytes of %d before the error", len(got), len(s))
	}
	if _, err2 := r.Read(buf); !errors.Is(err2, storage.ErrChecksum) {
		t.Errorf("error is not sticky: %v", err2)
	}
}

func TestReaderLength(t *testing.T) {
	// Short content is an error; bytes beyond size are not read.
	if _, err := io.ReadAll(NewReader(strings.NewReader("abc"), 5, "")); !errors.Is(err, storage.ErrChecksum) {
		t.Errorf("short: %v", err)
	}
	src := strings.NewReader("abcdef")
	got, err := io.ReadAll(NewReader(src, 3, Sum([]byte("abc"))))
	if err != nil || string(got) != "abc" || src.Len() != 3 {
		t.Errorf("long: %q, %v, %d left unread", got, err, src.Len())
	}
	if _, err := io.ReadAll(NewReader(strings.NewReader(""), 0, Sum(nil))); err != nil {
		t.Errorf("empty: %v", err)
	}
}

func TestValid(t *testing.T) {
	if err := Valid(Sum(nil)); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"", "00", strings.ToUpper(Sum(nil)), Sum(nil)[:63] + "g"} {
		if Valid(bad) == nil {
			t.Errorf("Valid(%q) = nil", bad)
		}
	}
}
