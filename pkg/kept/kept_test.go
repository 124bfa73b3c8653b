package kept

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kwbauson/create-pin-refs/pkg/bundle"
	"github.com/kwbauson/create-pin-refs/pkg/site"
)

// earlierSite writes a site folder whose pins.json lists refs before a long
// list of pins, and whose b/ holds files.
func earlierSite(t *testing.T, refs []site.BundleRef, files map[string][]byte) Dir {
	t.Helper()
	dir := t.TempDir()
	pins := make([]map[string]string, 20000)
	for i := range pins {
		pins[i] = map[string]string{"name": "p", "storePath": "/nix/store/x"}
	}
	data, err := json.Marshal(map[string]any{"format": 1, "bundles": refs, "pins": pins})
	if err != nil {
		t.Fatal(err)
	}
	// encoding/json sorts map keys: "bundles" comes before "pins", as in the
	// real pins.json.
	if err := os.WriteFile(filepath.Join(dir, site.Manifest), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	for p, d := range files {
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(p)), d, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return Dir(dir)
}

func tarball(t *testing.T, content string) ([]byte, string) {
	t.Helper()
	b := &bundle.Bundle{}
	b.Put("data/x.json", []byte(content))
	tgz, err := b.Tarball()
	if err != nil {
		t.Fatal(err)
	}
	nh, err := b.NarHash()
	if err != nil {
		t.Fatal(err)
	}
	return tgz, nh
}

func TestCollect(t *testing.T) {
	name := func(c byte) string { return "b/" + strings.Repeat(string(c), 32) + ".tar.gz" }
	tgzA, nhA := tarball(t, "a")
	tgzB, nhB := tarball(t, "b")
	tgzC, nhC := tarball(t, "c")
	cur := site.BundleRef{Path: name('0'), NarHash: "sha256-current"}
	refs := []site.BundleRef{
		cur, // a republish of the same bundle: not twice
		{Path: name('a'), NarHash: nhA},
		{Path: "b/../../etc/passwd", NarHash: nhA},
		{Path: name('b'), NarHash: nhA}, // holds b: damaged
		{Path: name('d'), NarHash: nhA}, // gone
		{Path: name('c'), NarHash: nhC},
		{Path: name('e'), NarHash: nhB}, // beyond keep
	}
	src := earlierSite(t, refs, map[string][]byte{name('a'): tgzA, name('b'): tgzB, name('c'): tgzC, name('e'): tgzB})
	// A manifest limit far below the file's size: the list comes first.
	lim := Limits{Manifest: 4096, Bundle: 1 << 20, Unpacked: 1 << 20}
	// Six publishes: the current one and five listed (c is the fifth).
	kept, skipped, err := Collect(context.Background(), src, lim, 6, cur, "https://x.org/")
	if err != nil {
		t.Fatal(err)
	}
	if len(kept) != 2 || kept[0].Path != name('a') || kept[1].Path != name('c') ||
		string(kept[1].Data) != string(tgzC) || kept[0].URL != "https://x.org/"+name('a') {
		t.Errorf("kept %+v, want a and c", kept)
	}
	var msgs []string
	for _, e := range skipped {
		msgs = append(msgs, e.Error())
	}
	got := strings.Join(msgs, "\n")
	for _, want := range []string{`lists "b/../../etc/passwd", which is not`, name('b') + ": unpacks to narHash " + nhB, name('d') + ": "} {
		if !strings.Contains(got, want) {
			t.Errorf("skipped lacks %q:\n%s", want, got)
		}
	}
	if !errors.Is(skipped[len(skipped)-1], ErrNotFound) {
		t.Errorf("a missing bundle: %v, want ErrNotFound", skipped[len(skipped)-1])
	}

	// A bundle this run wrote but never published is neither kept nor
	// counted: c is still the fifth publish listed.
	kept, _, _ = Collect(context.Background(), src, lim, 5, cur, "", name('a'))
	if len(kept) != 1 || kept[0].Path != name('c') {
		t.Errorf("kept %+v without the unpublished a, want c", kept)
	}

	// Too large for the limit.
	lim.Bundle = 10
	if _, skipped, _ := Collect(context.Background(), src, lim, 2, cur, ""); len(skipped) != 1 || !errors.Is(skipped[0], ErrTooLarge) {
		t.Errorf("a bundle beyond the limit: skipped %v, want ErrTooLarge", skipped)
	}
}

func TestCollectWithoutEarlierSite(t *testing.T) {
	_, _, err := Collect(context.Background(), Dir(t.TempDir()), DefaultLimits, 3, site.BundleRef{}, "")
	var nse *NoSiteError
	if !errors.As(err, &nse) || !errors.Is(err, ErrNotFound) {
		t.Errorf("Collect = %v, want a NoSiteError wrapping ErrNotFound", err)
	}
}

// TestReadWhole: one read of pins.json serves the bundle list and, read
// whole, the verdicts on its pins.
func TestReadWhole(t *testing.T) {
	tgzA, nhA := tarball(t, "a")
	name := "b/" + strings.Repeat("a", 32) + ".tar.gz"
	src := earlierSite(t, []site.BundleRef{{Path: name, NarHash: nhA}}, map[string][]byte{name: tgzA})
	size, err := os.Stat(filepath.Join(string(src), site.Manifest))
	if err != nil {
		t.Fatal(err)
	}
	lim := Limits{Manifest: 4096, Whole: 1 << 20, Bundle: 1 << 20, Unpacked: 1 << 20}
	start := Read(context.Background(), src, lim, false)
	whole := Read(context.Background(), src, lim, true)
	if start.Err != nil || start.Whole() || len(start.Data) != 4097 {
		t.Errorf("the start: %d bytes, whole %v, %v; want 4097 bytes, not whole", len(start.Data), start.Whole(), start.Err)
	}
	if whole.Err != nil || !whole.Whole() || int64(len(whole.Data)) != size.Size() {
		t.Errorf("read whole: %d bytes of %d, whole %v, %v", len(whole.Data), size.Size(), whole.Whole(), whole.Err)
	}
	for _, e := range []*Earlier{start, whole} {
		refs, err := e.List()
		kept, skipped := CollectFrom(context.Background(), src, lim, 2, refs, site.BundleRef{Path: "b/" + strings.Repeat("0", 32) + ".tar.gz"}, "")
		if err != nil || len(skipped) != 0 || len(kept) != 1 || kept[0].Path != name {
			t.Errorf("CollectFrom a read of %d bytes: %v, %v, %v; want the bundle", len(e.Data), kept, skipped, err)
		}
	}
	// Larger than the whole limit: not whole, and the list still read.
	lim.Whole = 8192
	if e := Read(context.Background(), src, lim, true); e.Whole() || len(e.Data) != 8193 {
		t.Errorf("beyond the whole limit: %d bytes, whole %v", len(e.Data), e.Whole())
	}
	missing := Read(context.Background(), Dir(t.TempDir()), lim, true)
	var nse *NoSiteError
	if !errors.As(missing.Err, &nse) || !errors.Is(missing.Err, ErrNotFound) || missing.Whole() {
		t.Errorf("no pins.json: %v, want a NoSiteError wrapping ErrNotFound", missing.Err)
	}
}

// heldSource is a Dir whose first bundle is read only once the last has
// been asked for: bundles read in turn wait for it until ctx ends.
type heldSource struct {
	Dir
	first, last string
	asked       chan struct{}
}

func (h heldSource) Get(ctx context.Context, name string, limit int64) ([]byte, error) {
	switch name {
	case h.last:
		close(h.asked)
	case h.first:
		select {
		case <-h.asked:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return h.Dir.Get(ctx, name, limit)
}

// TestCollectReadsBundlesAtOnce: the earlier bundles are asked for
// together, one round trip for them all, and kept in the list's order.
func TestCollectReadsBundlesAtOnce(t *testing.T) {
	name := func(c byte) string { return "b/" + strings.Repeat(string(c), 32) + ".tar.gz" }
	files := map[string][]byte{}
	var refs []site.BundleRef
	for _, c := range []byte("abcd") {
		tgz, nh := tarball(t, string(c))
		files[name(c)] = tgz
		refs = append(refs, site.BundleRef{Path: name(c), NarHash: nh})
	}
	src := heldSource{Dir: earlierSite(t, refs, files), first: name('a'), last: name('d'), asked: make(chan struct{})}
	// Read in turn, a would wait for d until this ends.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kept, skipped := CollectFrom(ctx, src, Limits{Bundle: 1 << 20, Unpacked: 1 << 20}, 5, refs, site.BundleRef{Path: name('0')}, "")
	var got []string
	for _, k := range kept {
		got = append(got, k.Path)
	}
	if len(skipped) != 0 || strings.Join(got, " ") != strings.Join([]string{name('a'), name('b'), name('c'), name('d')}, " ") {
		t.Errorf("kept %v, skipped %v; want a, b, c, d in order", got, skipped)
	}
}
