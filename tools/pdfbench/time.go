package pdfbench

import "time"

// fixed is the creation date given to fpdf: it writes the clock otherwise.
var fixed = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
