package service

import (
	"fmt"

	"github.com/quire-print/quire/renderer"
	"github.com/quire-print/quire/request"
)

// Renderer is Quire's renderer as the service uses it: it renders
// envelopes for the worker (a worker.Renderer, through
// renderer.Renderer.Render) and lays out and draws
// single documents for the preview and print files (a DocumentRenderer).
type Renderer struct{ *renderer.Renderer }

// The worker decodes with its Renderer as a request.Fitter when it is one,
// so that a rejection lists layout problems with the request's others.
var _ request.Fitter = Renderer{}

// NewRenderer loads the templates and fonts.
func NewRenderer() (Renderer, error) {
	r, err := renderer.New()
	if err != nil {
		return Renderer{}, fmt.Errorf("starting the renderer: %w", err)
	}
	return Renderer{r}, nil
}
