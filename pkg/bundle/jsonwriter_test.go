package bundle

import (
	"bytes"
	"testing"

	"github.com/kwbauson/create-pin-refs/pkg/pins"
)

// TestJSONWriterMatchesStd holds the fast encoder to encoding/json's bytes on
// strings that JSON encoders escape differently: quotes, controls, HTML,
// U+2028/U+2029, invalid UTF-8 and non-ASCII text.
func TestJSONWriterMatchesStd(t *testing.T) {
	// A shard entry as encoding/json would write it.
	type entry struct {
		Path     string `json:"path"`
		Program  string `json:"program,omitempty"`
		CA       bool   `json:"ca,omitempty"`
		Closure  string `json:"closure,omitempty"`
		Revision int    `json:"revision,omitempty"`
	}
	for _, s := range []string{
		"", "hello", `a"b\c`, "tab\tnl\ncr\r\x00\x1f\x7f", "<script>&amp;</script>", "\u2028\u2029",
		"bad\xff\xfeutf8", "\xed\xa0\x80", "émoji-🚀", "${x}", "a/b",
	} {
		var want bytes.Buffer
		writeJSON(&want, s)
		var w jsonWriter
		w.reset(0)
		w.string(s)
		if got := w.take(); string(got) != want.String() {
			t.Errorf("string %q: got %s, encoding/json gives %s", s, got, want.Bytes())
		}
		for _, p := range []pins.Pin{
			{StorePath: s, Program: s},
			{StorePath: s, Revision: 7, CA: "fixed:r:sha256:x", Closure: "split"},
			{StorePath: s, Program: "bin/x", Closure: "incomplete", Revision: 1},
			{StorePath: s, Closure: "complete"},
		} {
			e := entry{Path: p.StorePath, Program: p.Program, CA: p.CA != "", Revision: p.Revision}
			if p.Closure == "split" || p.Closure == "incomplete" {
				e.Closure = "split"
			}
			want.Reset()
			writeJSON(&want, e)
			w.reset(0)
			w.entry(p)
			if got := w.take(); string(got) != want.String() {
				t.Errorf("entry %+v: got %s, encoding/json gives %s", p, got, want.Bytes())
			}
		}
	}
}
