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
