package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/quire-print/quire/internal/envflag"
	"github.com/quire-print/quire/renderer"
	"github.com/quire-print/quire/renderer/display"
	"github.com/quire-print/quire/renderer/raster"
	"github.com/quire-print/quire/request"
)

// runRender implements "quire render": request files in, PDFs (and page
// images) out. It renders every file it can and reports every problem;
// the exit code is 1 when any file was refused.
func runRender(_ context.Context, args []string, stdout, stderr io.Writer) int {
	flags, st := renderFlags(stderr)
	fs := flags.FlagSet()
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: quire render [flags] <request.json>...\n\nRenders envelope requests into a carriage letter and certificates.\nFlags may come before or after the files.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(flags, args); !ok {
		return code
	}
	if len(flags.Args()) == 0 {
		fs.Usage()
		return 2
	}
	out, png, width := &st.out, &st.png, &st.width
	if *png && (*width < raster.MinWidth || *width > raster.MaxWidth) {
		fmt.Fprintf(stderr, "quire render: -png-width must be between %d and %d\n", raster.MinWidth, raster.MaxWidth)
		return 2
	}
	r, err := renderer.New()
	if err != nil {
		fmt.Fprintf(stderr, "quire render: %v\n", err)
		return 1
	}
	status := 0
	for _, file := range flags.Args() {
		dir, err := renderFile(r, file, *out, *png, *width)
		var fe request.Errors
		switch {
		case errors.As(err, &fe):
			fmt.Fprintf(stderr, "%s: refused, %d problem(s):\n", file, len(fe))
			for _, e := range fe {
				fmt.Fprintf(stderr, "  %s\n", e)
			}
			status = 1
		case err != nil:
			fmt.Fprintf(stderr, "%s: %v\n", file, err)
			status = 1
		default:
			fmt.Fprintf(stdout, "%s: wrote %s\n", file, dir)
		}
	}
	return status
}

type renderSettings struct {
	out   string
	png   bool
	width int
}

// renderFlags defines quire render's flags on a new set writing to w.
func renderFlags(w io.Writer) (*envflag.Set, *renderSettings) {
	s := envflag.New("render", w)
	st := &renderSettings{}
	s.String(&st.out, "o", "", "out", "directory to write `dir`/<envelopeId>/*.pdf into")
	s.Bool(&st.png, "png", "", false, "also write each page as a PNG image")
	s.Int(&st.width, "png-width", "", 1240, "width of page images in `pixels` (1240 is A4 at 150 dpi)")
	return s, st
}

func renderFile(r *renderer.Renderer, file, out string, png bool, width int) (string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	env, err := request.Decoder{Fit: r, FitOnlyWithProblems: true}.Decode(data)
	if err != nil {
		return "", err
	}
	docs, err := r.LayoutEnvelope(env)
	if err != nil {
		return "", err
	}
	rendered, err := r.Draw(env.EnvelopeID, docs)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(out, env.EnvelopeID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for i, d := range rendered.Documents {
		if err := os.WriteFile(filepath.Join(dir, d.Name), d.PDF, 0o644); err != nil {
			return "", err
		}
		if !png {
			continue
		}
		for p := range docs[i].Pages {
			name := fmt.Sprintf("%s-page%d.png", strings.TrimSuffix(d.Name, ".pdf"), p+1)
			if err := writePNG(filepath.Join(dir, name), &docs[i].Pages[p], width); err != nil {
				return "", err
			}
		}
	}
	return dir, nil
}

// writePNG draws a page as a paletted PNG: a fraction of the size and time
// of full colour, with the same pixels for these few inks.
func writePNG(path string, pg *display.Page, width int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := raster.WritePNG(f, pg, width); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
