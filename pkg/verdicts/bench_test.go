package verdicts

import (
	"fmt"
	"testing"
)

// BenchmarkParse reads the verdicts of a pins.json of 10,000 pins, shaped as
// pkg/site writes it, which a publish reads before its walk can start.
func BenchmarkParse(b *testing.B) {
	data := []byte(`{"format":2,"substituter":"https://demo.cachix.org","verification":{"upstream":["https://cache.nixos.org"]},"pins":[`)
	for i := range 10_000 {
		if i > 0 {
			data = append(data, ',')
		}
		data = fmt.Appendf(data, `{"pin":"pkg-%d","name":"pkg-%d","system":"x86_64-linux","storePath":"/nix/store/%032d-pkg-%d","program":"bin/pkg-%d","artifacts":["bin/pkg-%d"],"lastRevision":{"createdOn":"2026-12-01T10:00:00Z","artifacts":[]},"narSize":123456,"closureSize":98765432,"closurePaths":42,"closure":"complete","verified":"2026-12-07T09:00:00Z"}`, i, i, i, i, i, i)
	}
	data = append(data, "]}\n"...)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}
