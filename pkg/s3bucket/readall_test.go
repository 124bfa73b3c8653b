package s3bucket

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestReadAll: the body is read whole whatever its Content-Length said,
// and a read error is returned.
func TestReadAll(t *testing.T) {
	body := strings.Repeat("pins.json ", 100)
	for _, tt := range []struct {
		name string
		size int64
		r    func() io.Reader
	}{
		{"its size", int64(len(body)), func() io.Reader { return strings.NewReader(body) }},
		{"unknown size", 0, func() io.Reader { return strings.NewReader(body) }},
		{"said shorter", 10, func() io.Reader { return iotest.OneByteReader(strings.NewReader(body)) }},
		{"said longer", 5000, func() io.Reader { return iotest.HalfReader(strings.NewReader(body)) }},
		{"with the last bytes", int64(len(body)), func() io.Reader { return iotest.DataErrReader(strings.NewReader(body)) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAll(tt.r(), tt.size)
			if err != nil || string(got) != body {
				t.Errorf("readAll = %d bytes, %v; want %d bytes", len(got), err, len(body))
			}
		})
	}
	broken := errors.New("connection reset")
	if _, err := readAll(io.MultiReader(bytes.NewReader([]byte("part")), iotest.ErrReader(broken)), 100); !errors.Is(err, broken) {
		t.Errorf("a failed read: %v, want %v", err, broken)
	}
}
