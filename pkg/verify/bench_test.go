package verify_test

import (
	"testing"

	"github.com/kwbauson/create-pin-refs/bench/closures"
	"github.com/kwbauson/create-pin-refs/pkg/narinfo"
	"github.com/kwbauson/create-pin-refs/pkg/verify"
)

// BenchmarkClosures verifies 10,000 pins (closures of ~20 paths, shared as
// real ones are) against a loopback cache in this process. The cache's own
// work counts too here; `go run ./bench/verify` serves it from another
// process and prints wall time and peak RSS.
func BenchmarkClosures(b *testing.B) {
	c := closures.New(10000)
	url, l, err := c.Listen()
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	b.ReportAllocs()
	for b.Loop() {
		cache, err := narinfo.New(url, narinfo.Options{Transport: narinfo.NewTransport(25)})
		if err != nil {
			b.Fatal(err)
		}
		got, err := verify.Closures(b.Context(), c.Pins, verify.Options{Cache: cache, Concurrency: 25})
		if err != nil || len(got) != len(c.Pins) {
			b.Fatalf("%d closures, %v", len(got), err)
		}
	}
	b.ReportMetric(float64(c.Paths()), "narinfos/op")
}
