package cachix

import (
	"bytes"
	"fmt"
	"testing"
)

// BenchmarkReadPinList measures the two decoders of a pin list: the stream
// decoder that reads Cachix's answer and pins files, and decodePins, which
// decodes a whole text it falls back on.
func BenchmarkReadPinList(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		data := []byte(bigAnswer(n))
		b.Run(fmt.Sprintf("stream/pins=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				pins, slow, err := streamPins(bytes.NewReader(data), DefaultMaxBodySize, int64(len(data)), streamChunk)
				if err != nil || slow || len(pins) != n {
					b.Fatalf("%d pins, slow %v, error %v", len(pins), slow, err)
				}
			}
		})
		b.Run(fmt.Sprintf("whole/pins=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				pins, err := decodePins(data)
				if err != nil || len(pins) != n {
					b.Fatalf("%d pins, error %v", len(pins), err)
				}
			}
		})
	}
}
