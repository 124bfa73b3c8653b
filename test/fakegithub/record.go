package fakegithub

import (
	"io"
	"net/http"
	"time"
)

// recorder logs a request when its status is written, so the log holds it
// before the client can see the answer.
type recorder struct {
	http.ResponseWriter
	s      *Server
	entry  Request
	status int
	force  bool // set by the ref update handler
	logged int  // the entry's index in the log
	body   countingReader
	wrote  int64
	start  time.Time
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// countBytes reads what is left of the request body and puts both bodies'
// lengths in the log entry.
func (r *recorder) countBytes() {
	_, _ = io.Copy(io.Discard, &r.body)
	r.s.mu.Lock()
	e := &r.s.log[r.logged]
	e.RequestBytes, e.ResponseBytes, e.Took = r.body.n, r.wrote, time.Since(r.start)
	r.s.mu.Unlock()
}

// recorderKey finds the recorder in a request's context, for handlers that
// note something about the request (a forced update).
type recorderKey struct{}

func (r *recorder) WriteHeader(code int) {
	if r.status != 0 {
		return
	}
	r.status = code
	r.entry.Status, r.entry.Force = code, r.force
	r.s.mu.Lock()
	r.logged = len(r.s.log)
	r.s.log = append(r.s.log, r.entry)
	r.s.mu.Unlock()
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	n, err := r.ResponseWriter.Write(b)
	r.wrote += int64(n)
	return n, err
}
