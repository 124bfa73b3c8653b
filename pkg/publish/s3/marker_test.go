package s3

import (
	"fmt"
	"testing"
)

// BenchmarkParseMarker reads the marker of a 100,000-pin site with one-name
// bundles: some 150,000 names.
func BenchmarkParseMarker(b *testing.B) {
	m := &marker{Generator: generator, Format: markerFormat, Objects: map[string]string{}}
	for i := range 75_000 {
		name := fmt.Sprintf("p/name-%d", i)
		m.Objects[name] = sum([]byte(name))
		m.Objects[name+".tar.gz"] = sum([]byte(name))
	}
	body, err := m.encode()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseMarker(body); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSumAll: every name gets the MD5 of its own content, whether it shares
// its bytes with another name, holds equal bytes apart, or none.
func TestSumAll(t *testing.T) {
	shared := []byte("tarball")
	files := map[string][]byte{"p/a": shared, "p/a.tar.gz": shared, "p/b": []byte("tarball"), "p/c": shared[:3], "empty": nil, "p/d": []byte("other")}
	got := sumAll(files)
	if len(got) != len(files) {
		t.Errorf("sumAll gave %d sums for %d files", len(got), len(files))
	}
	for name, data := range files {
		if got[name] != sum(data) {
			t.Errorf("%s: sum %s, want %s", name, got[name], sum(data))
		}
	}
}
