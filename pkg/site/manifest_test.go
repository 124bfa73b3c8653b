package site

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"testing"

	"github.com/kwbauson/create-pin-refs/pkg/pins"
)

// TestWriteManifestMatchesStd holds the hand-written encoder to encoding/json
// (without HTML escaping). Every field of a pin is set in turn by reflection,
// so that a field added to pins.Pin and forgotten here fails.
func TestWriteManifestMatchesStd(t *testing.T) {
	full := func(s string, n int) pins.Pin {
		var p pins.Pin
		v := reflect.ValueOf(&p).Elem()
		for i := range v.NumField() {
			switch f := v.Field(i); f.Kind() {
			case reflect.String:
				f.SetString(s)
			case reflect.Int:
				f.SetInt(int64(n))
			case reflect.Uint64:
				f.SetUint(uint64(n) << 33)
			case reflect.Slice:
				f.Set(reflect.ValueOf([]string{s, "bin/x"}))
			default:
				t.Fatalf("pins.Pin.%s: a %s field this test does not fill", v.Type().Field(i).Name, f.Kind())
			}
		}
		return p
	}
	onlyField := func(i int) pins.Pin {
		var p pins.Pin
		reflect.ValueOf(&p).Elem().Field(i).Set(reflect.ValueOf(full("x", 3)).Field(i))
		return p
	}
	tricky := []string{"", "hello", `a"b\c`, "tab\tnl\n\x00\x1f\x7f", "<script>&amp;", "\u2028\u2029", "bad\xff\xfe", "émoji-🚀"}
	var all []pins.Pin
	for i, s := range tricky {
		all = append(all, full(s, i-3))
	}
	for i := range reflect.TypeFor[pins.Pin]().NumField() {
		all = append(all, onlyField(i))
	}
	all = append(all, pins.Pin{Artifacts: []string{}})
	// Enough pins to fill the buffer many times over.
	var many []pins.Pin
	for i := 0; len(many)*100 < 5*manifestChunk; i++ {
		many = append(many, full(tricky[i%len(tricky)]+strconv.Itoa(i), i))
	}
	for name, m := range map[string]ManifestData{
		"every field":     {Format: 1, Cache: "c<&>", Substituter: "https://c.cachix.org", Private: true, PublicKeys: []string{"c-1:k"}, Systems: []string{"x86_64-linux"}, Verification: &Verification{Upstream: []string{"https://u<&>"}}, Bundles: []BundleRef{{Path: "b/x.tar.gz", URL: "https://e/b/x.tar.gz", NarHash: "sha256-x"}, {Path: "b/y.tar.gz"}}, Pins: all, Skipped: []pins.Skipped{{PinName: "bad\xff", Reason: "r\n"}}},
		"empty":           {Pins: []pins.Pin{}, PublicKeys: []string{}, Systems: []string{}},
		"nil everywhere":  {},
		"empty optionals": {Format: 1, Substituter: "s", Verification: &Verification{Upstream: []string{}}, Bundles: []BundleRef{}, Skipped: []pins.Skipped{}, Pins: all[:1]},
		"many pins":       {Format: 2, Pins: many, Skipped: []pins.Skipped{{PinName: "x", Reason: "y"}}},
	} {
		t.Run(name, func(t *testing.T) {
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(m); err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := WriteManifest(&buf, m); err != nil {
				t.Fatal(err)
			}
			if got := buf.Bytes(); !bytes.Equal(got, want.Bytes()) {
				t.Errorf("pins.json differs from encoding/json's:\n got %s\nwant %s", got, want.Bytes())
			}
		})
	}
}

// failAfter fails every write after the first n bytes.
type failAfter struct {
	n   int
	err error
}

func (w *failAfter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		return 0, w.err
	}
	w.n -= len(p)
	return len(p), nil
}

// TestWriteManifestStopsAtAWriteError: a full disk at any point of pins.json
// is the writer's error, returned as it is.
func TestWriteManifestStopsAtAWriteError(t *testing.T) {
	var many []pins.Pin
	for i := range 3000 {
		many = append(many, pins.Pin{PinName: "pin-" + strconv.Itoa(i), StorePath: "/nix/store/x"})
	}
	full := errors.New("no space left on device")
	for _, n := range []int{0, manifestChunk / 2, 2 * manifestChunk} {
		if err := WriteManifest(&failAfter{n: n, err: full}, ManifestData{Pins: many}); !errors.Is(err, full) {
			t.Errorf("a writer failing after %d bytes: WriteManifest = %v, want %v", n, err, full)
		}
	}
}
