package pdf

import (
	"fmt"
	"image"

	"github.com/signintech/gopdf"

	"github.com/quire-print/quire/renderer/display"
)

// drawImage places a greyscale image, such as a 2D code, scaled into its
// rectangle.
func drawImage(pdf *gopdf.GoPdf, it *display.Image) error {
	if it.Cols <= 0 || it.Rows <= 0 || len(it.Gray) != it.Cols*it.Rows {
		return fmt.Errorf("pdf: image %q: %d×%d pixels do not match %d bytes", it.Name, it.Cols, it.Rows, len(it.Gray))
	}
	img := &image.Gray{Pix: it.Gray, Stride: it.Cols, Rect: image.Rect(0, 0, it.Cols, it.Rows)}
	if err := pdf.ImageFrom(img, it.X, it.Y, &gopdf.Rect{W: it.W, H: it.H}); err != nil {
		return fmt.Errorf("pdf: image %q: %w", it.Name, err)
	}
	return nil
}
