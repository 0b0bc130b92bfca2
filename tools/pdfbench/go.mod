module github.com/quire-print/quire/tools/pdfbench

go 1.26.8

require (
	codeberg.org/go-pdf/fpdf v0.12.0
	github.com/signintech/gopdf v0.33.0
)

require (
	github.com/phpdave11/gofpdi v1.0.16 // indirect
	github.com/pkg/errors v0.9.1 // indirect
)
