package bundle

import (
	"bytes"
	"testing"
)

// TestJSONWriterMatchesStd holds the fast encoder to encoding/json's bytes on
// strings that JSON encoders escape differently: quotes, controls, HTML,
// U+2028/U+2029, invalid UTF-8 and non-ASCII text.
func TestJSONWriterMatchesStd(t *testing.T) {
	type entry struct {
		Path    string `json:"path"`
		Program string `json:"program,omitempty"`
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
		want.Reset()
		e := entry{Path: s, Program: s}
		writeJSON(&want, e)
		w.reset(0)
		w.value(e)
		if got := w.take(); string(got) != want.String() {
			t.Errorf("entry %q: got %s, encoding/json gives %s", s, got, want.Bytes())
		}
	}
}
