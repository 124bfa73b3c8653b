package jsonw

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func std(t testing.TB, s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// TestStringMatchesStd holds String to encoding/json (without HTML escaping)
// with every byte value at every position of an eight-byte word.
func TestStringMatchesStd(t *testing.T) {
	var inputs []string
	for c := range 256 {
		for pos := range 17 {
			b := []byte(strings.Repeat("a", 17))
			b[pos] = byte(c)
			inputs = append(inputs, string(b))
		}
	}
	inputs = append(inputs, "", "/nix/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-hello-2.12", "<&>", "\u2028\u2029", "émoji-🚀", "\xed\xa0\x80")
	for _, s := range inputs {
		if got, want := String(nil, s), std(t, s); !bytes.Equal(got, want) {
			t.Errorf("String(%q) = %s, encoding/json gives %s", s, got, want)
		}
	}
}

func FuzzString(f *testing.F) {
	for _, s := range []string{"", "hello", `a"b\c`, "tab\t", "\x7f", "émoji", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := String(nil, s), std(t, s); !bytes.Equal(got, want) {
			t.Errorf("String(%q) = %s, encoding/json gives %s", s, got, want)
		}
	})
}

func BenchmarkPlain(b *testing.B) {
	s := "/nix/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-hello-tool-4242-1.17"
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		if !plain(s) {
			b.Fatal("not plain")
		}
	}
}
