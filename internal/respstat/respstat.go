// Package respstat notes what an HTTP handler answered, for the logs and
// metrics that wrap it: the status sent and the bytes written.
package respstat

import "net/http"

// Writer passes a response through, noting its status and size. Wrap the
// handler's ResponseWriter in one and read it once the handler returns.
type Writer struct {
	http.ResponseWriter
	status int
	// Bytes is how many bytes of body were written.
	Bytes int
}

// WriteHeader notes the first status and sends it.
func (w *Writer) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write sends b, with a 200 first if no status was sent.
func (w *Writer) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(b)
	w.Bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (a download
// sets its own write deadline).
func (w *Writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Status is the status sent: 200 for a handler that wrote nothing, as
// net/http sends then.
func (w *Writer) Status() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}
