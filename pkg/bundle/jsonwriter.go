package bundle

import (
	"strconv"

	"github.com/kwbauson/create-pin-refs/pkg/jsonw"
	"github.com/kwbauson/create-pin-refs/pkg/pins"
)

// jsonWriter appends JSON to one buffer that is sized up front (see jsonw).
// The golden files and TestJSONWriterMatchesStd hold it to encoding/json's
// bytes.
type jsonWriter struct{ buf []byte }

// reset starts a new document with room for about size bytes.
func (w *jsonWriter) reset(size int) { w.buf = make([]byte, 0, size) }

// take returns the document; the writer must be reset before the next one.
func (w *jsonWriter) take() []byte {
	b := w.buf
	w.buf = nil
	return b
}

func (w *jsonWriter) byte(c byte)    { w.buf = append(w.buf, c) }
func (w *jsonWriter) bytes(s string) { w.buf = append(w.buf, s...) }
func (w *jsonWriter) int(n int)      { w.buf = strconv.AppendInt(w.buf, int64(n), 10) }

func (w *jsonWriter) string(s string) { w.buf = jsonw.String(w.buf, s) }
func (w *jsonWriter) value(v any)     { w.buf = jsonw.Value(w.buf, v) }

// entry appends what a shard holds of p, the fields in this order:
//
//	path      the pinned store path
//	program   the app's executable, when there is one
//	ca        true when the path is content-addressed, so that fetchClosure
//	          does not ask for an input-addressed one
//	closure   "split" when one cache does not hold the whole closure, so that
//	          pin.nix does not use fetchClosure
//	revision  the pin's revision, for meta.description
func (w *jsonWriter) entry(p pins.Pin) {
	w.bytes(`{"path":`)
	w.string(p.StorePath)
	if p.Program != "" {
		w.bytes(`,"program":`)
		w.string(p.Program)
	}
	if p.CA != "" {
		w.bytes(`,"ca":true`)
	}
	if p.Closure != "" && p.Closure != "complete" {
		w.bytes(`,"closure":"split"`) // incomplete ones too (--verify=warn): Nix may find them elsewhere
	}
	if p.Revision != 0 {
		w.bytes(`,"revision":`)
		w.int(p.Revision)
	}
	w.byte('}')
}

// systems appends the pins of one name (sorted by system, "" first) as an
// object keyed by system, "*" for a system-less pin: the keys in the order
// encoding/json gives a map's.
func (w *jsonWriter) systems(ps []pins.Pin) {
	w.byte('{')
	for k, p := range ps {
		if k > 0 {
			w.byte(',')
		}
		sys := p.System
		if sys == "" {
			sys = anySystem
		}
		w.string(sys)
		w.byte(':')
		w.entry(p)
	}
	w.byte('}')
}
