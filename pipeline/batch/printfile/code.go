package printfile

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/boombuler/barcode/datamatrix"

	"github.com/quire-print/quire/renderer/display"
	"github.com/quire-print/quire/templates"
)

// CodeVersion is the first field of every 2D code payload. A reader that
// finds another value is reading a format this package does not write.
const CodeVersion = "Q1"

// Geometry of the printed code. Every module is a whole number of device
// pixels at DeviceDPI (and so at 1200 and 2400 dpi too): a module that is
// 9 pixels here and 10 there prints unevenly and reads worse.
const (
	// DeviceDPI is the printer resolution modules are sized for.
	DeviceDPI = 600
	// QuietModules is the blank margin around the symbol, in modules.
	// ISO/IEC 16022 asks for one; two reads more reliably on a page whose
	// print can spread, and fits the reserved square easily.
	QuietModules = 2
	// MinModulePixels is the smallest module, in device pixels: 6 at
	// 600 dpi is 0.254 mm, the usual floor for fixed industrial readers.
	MinModulePixels = 6
)

// devicePixel is one device pixel in points.
const devicePixel = 72.0 / DeviceDPI

// MaxBatchIDLen bounds batch ids so that the longest payload still prints
// with modules of at least MinModulePixels in a 10 mm square.
const MaxBatchIDLen = 40

// batchIDShape: like envelope ids, and never '|', the payload separator.
var batchIDShape = regexp.MustCompile(`^[A-Za-z0-9._-]{1,40}$`)

// ValidBatchID reports whether id can name a batch in 2D codes and file
// names: 1 to MaxBatchIDLen characters from A-Z a-z 0-9 . _ -, not "." or
// "..".
func ValidBatchID(id string) error {
	if !batchIDShape.MatchString(id) || id == "." || id == ".." {
		return fmt.Errorf("printfile: batch id must be 1 to %d characters from A-Z a-z 0-9 . _ - and not \".\" or \"..\"", MaxBatchIDLen)
	}
	return nil
}

// Code is what the 2D code on one printed page says: which batch, which
// envelope of the batch, and which page of that envelope. Pages are
// counted across the whole envelope, letter pages first, then certificate
// pages, so an inserter can check that an envelope is complete (pages 1 to
// Pages, nothing else) from the codes alone.
type Code struct {
	BatchID  string
	Sequence int // the envelope's position in the batch, from 1
	Page     int // from 1
	Pages    int // pages in the envelope
}

// String is the payload printed in the code:
// "Q1|<batchId>|<sequence>|<page>|<pages>", numbers in decimal without
// leading zeros. It is ASCII, short, and has no personal data.
func (c Code) String() string {
	return CodeVersion + "|" + c.BatchID + "|" + strconv.Itoa(c.Sequence) + "|" +
		strconv.Itoa(c.Page) + "|" + strconv.Itoa(c.Pages)
}

// ErrCodeFormat is wrapped by ParseCode's errors.
var ErrCodeFormat = errors.New("not a Quire page code")

// ParseCode reads a payload written by Code.String.
func ParseCode(s string) (Code, error) {
	f := strings.Split(s, "|")
	if len(f) != 5 || f[0] != CodeVersion || ValidBatchID(f[1]) != nil {
		return Code{}, fmt.Errorf("printfile: %q: %w", s, ErrCodeFormat)
	}
	var n [3]int
	for i, v := range f[2:] {
		x, err := strconv.Atoi(v)
		if err != nil || x < 1 || strconv.Itoa(x) != v {
			return Code{}, fmt.Errorf("printfile: %q: %w", s, ErrCodeFormat)
		}
		n[i] = x
	}
	c := Code{BatchID: f[1], Sequence: n[0], Page: n[1], Pages: n[2]}
	if c.Page > c.Pages {
		return Code{}, fmt.Errorf("printfile: %q: page %d of %d: %w", s, c.Page, c.Pages, ErrCodeFormat)
	}
	return c, nil
}

// codeImage draws payload as a DataMatrix symbol, with its quiet zone, as
// large as fits in area with every module a whole number of device pixels,
// centred in area and aligned to the device pixel grid (from the top left
// corner of the page).
func codeImage(payload, name string, area templates.CodeArea) (*display.Image, error) {
	bc, err := datamatrix.Encode(payload)
	if err != nil {
		return nil, fmt.Errorf("printfile: 2D code %q: %w", payload, err)
	}
	b := bc.Bounds()
	if b.Dx() != b.Dy() {
		return nil, fmt.Errorf("printfile: 2D code %q is not square", payload)
	}
	n := b.Dx()
	cols := n + 2*QuietModules
	gray := make([]byte, cols*cols)
	for i := range gray {
		gray[i] = 0xff
	}
	for y := range n {
		for x := range n {
			if r, _, _, _ := bc.At(b.Min.X+x, b.Min.Y+y).RGBA(); r < 0x8000 {
				gray[(y+QuietModules)*cols+x+QuietModules] = 0
			}
		}
	}

	x0, x1 := gridIn(area.X, area.X+area.Size)
	y0, y1 := gridIn(area.Y, area.Y+area.Size)
	avail := min(x1-x0, y1-y0)
	module := avail / cols
	if module < MinModulePixels {
		return nil, fmt.Errorf("printfile: 2D code %q: a %d×%d symbol with its quiet zone does not fit %g mm with modules of %d pixels at %d dpi",
			payload, n, n, area.Size, MinModulePixels, DeviceDPI)
	}
	side := module * cols
	off := (avail - side) / 2
	return &display.Image{
		X:    float64(x0+off) * devicePixel,
		Y:    float64(y0+off) * devicePixel,
		W:    float64(side) * devicePixel,
		H:    float64(side) * devicePixel,
		Name: name,
		Cols: cols, Rows: cols,
		Gray: gray,
	}, nil
}

// gridIn returns the device pixels [p0, p1) lying wholly within the span
// from a to b millimetres.
func gridIn(a, b float64) (p0, p1 int) {
	const eps = 1e-6 // so that a span already on the grid keeps its edges
	p0 = int(math.Ceil(display.MM(a)/devicePixel - eps))
	p1 = int(math.Floor(display.MM(b)/devicePixel + eps))
	return p0, p1
}
