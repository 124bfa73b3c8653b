package site

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/kwbauson/create-pin-refs/pkg/bundle"
	"github.com/kwbauson/create-pin-refs/pkg/pins"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
)

// countingOnes counts the bundles rendered.
type countingOnes struct {
	*bundle.Ones
	rendered atomic.Int64
}

func (c *countingOnes) One(i int) bundle.One {
	c.rendered.Add(1)
	return c.Ones.One(i)
}

// TestPackOnesRendersWhatItPacks: over the budget, packing stops early and
// renders no more than it packed, so a site too big for one-name bundles
// does not pay for them all; within it, every name is rendered once.
func TestPackOnesRendersWhatItPacks(t *testing.T) {
	var raw []cachix.Pin
	for i := range 2000 {
		raw = append(raw, cachix.Pin{Name: fmt.Sprintf("tool-%04d", i), LastRevision: cachix.Revision{StorePath: storePath}})
	}
	set, err := pins.Build(raw, pins.Options{})
	if err != nil {
		t.Fatal(err)
	}
	lazy, err := bundle.NewOnes(set, testMeta)
	if err != nil {
		t.Fatal(err)
	}
	over := &countingOnes{Ones: lazy}
	files, cost, err := packOnes(over, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	if files != nil || cost <= 64<<10 {
		t.Errorf("over the budget: %d files, cost %d", len(files), cost)
	}
	if n := over.rendered.Load(); n > 200 {
		t.Errorf("rendered %d of %d names to find them over a budget that holds some 12", n, lazy.Len())
	}
	within := &countingOnes{Ones: lazy}
	if files, _, err = packOnes(within, 0); err != nil || len(files) != 2*lazy.Len() {
		t.Fatalf("%d files, %v", len(files), err)
	}
	if n := within.rendered.Load(); n != int64(lazy.Len())+1 { // +1: the packer's shared files
		t.Errorf("rendered %d bundles for %d names", n, lazy.Len())
	}
}
