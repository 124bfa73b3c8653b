package main

import (
	"testing"

	"github.com/kwbauson/create-pin-refs/bench/pinset"
	"github.com/kwbauson/create-pin-refs/pkg/pins"
)

// TestChangePins: an update moves exactly k pins to other valid store paths
// and leaves the rest, and the list it was made from, alone.
func TestChangePins(t *testing.T) {
	for _, tt := range []struct{ n, k int }{{8, 5}, {1000, 5}, {3, 5}} {
		raw := pinset.Synthetic(tt.n)
		orig := append(raw[:0:0], raw...)
		changed := changePins(raw, tt.k)
		diff := 0
		for i := range raw {
			if raw[i].LastRevision.StorePath != orig[i].LastRevision.StorePath || raw[i].LastRevision.Revision != orig[i].LastRevision.Revision {
				t.Fatalf("n=%d: the original list was changed at %d", tt.n, i)
			}
			if changed[i].LastRevision.StorePath != raw[i].LastRevision.StorePath {
				diff++
			}
		}
		if want := min(tt.k, tt.n); diff != want {
			t.Errorf("n=%d: %d pins changed, want %d", tt.n, diff, want)
		}
		if _, err := pins.Build(changed, pins.Options{}); err != nil {
			t.Errorf("n=%d: the changed pins are not valid: %v", tt.n, err)
		}
	}
}
