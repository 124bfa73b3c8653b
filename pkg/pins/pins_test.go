package pins

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
)

const (
	pathA = "/nix/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-hello-2.12.1"
	pathB = "/nix/store/zz9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-tool-2.0"
)

func raw(name, path string, artifacts ...string) cachix.Pin {
	return cachix.Pin{Name: name, LastRevision: cachix.Revision{StorePath: path, Revision: 1, Artifacts: artifacts}}
}

func TestSplitName(t *testing.T) {
	tests := []struct {
		in, name, system string
	}{
		{"hello.x86_64-linux", "hello", "x86_64-linux"},
		{"hello.aarch64-darwin", "hello", "aarch64-darwin"},
		{"tool.v2.x86_64-linux", "tool.v2", "x86_64-linux"},
		{"v1.7", "v1.7", ""},
		{"hello", "hello", ""},
		{"a.riscv64-linux", "a", "riscv64-linux"},
		{"a.armv7l-linux", "a", "armv7l-linux"},
		{"a.x86_64-freebsd", "a", "x86_64-freebsd"},
		{"a.powerpc64le-linux", "a", "powerpc64le-linux"},
		{"a.i686-linux", "a", "i686-linux"},
		{"a.loongarch64-linux", "a", "loongarch64-linux"},
		{"tool.static-linux", "tool.static-linux", ""}, // not an architecture
		{"tool.x86_64", "tool.x86_64", ""},
		{"tool.x86_64-linux.bak", "tool.x86_64-linux.bak", ""},
		{"x86_64-linux", "x86_64-linux", ""}, // no dot: a name
		{".x86_64-linux", "", "x86_64-linux"},
	}
	for _, tt := range tests {
		name, system := SplitName(tt.in)
		if name != tt.name || system != tt.system {
			t.Errorf("SplitName(%q) = %q, %q; want %q, %q", tt.in, name, system, tt.name, tt.system)
		}
	}
}

func TestNearSystem(t *testing.T) {
	for s, want := range map[string]bool{
		"x86_64-linux":      false, // a system
		"x86_64-Linux":      true,
		"AARCH64-DARWIN":    true,
		"x86_64-linux-musl": true,
		"aarch64-darwin14":  true,
		"riscv64-unknown":   true,
		"static-linux":      false, // not an architecture
		"v2":                false,
		"7":                 false,
		"x86_64":            false, // no kernel: a version-like part
		"docs-x86_64":       false,
	} {
		if got := NearSystem(s); got != want {
			t.Errorf("NearSystem(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestValidateStorePath(t *testing.T) {
	tests := []struct {
		path string
		want string // substring of the error; empty for valid
	}{
		{pathA, ""},
		{"/nix/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-a+b-c._?=", ""},
		{"/nix/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-" + strings.Repeat("a", 211), ""},
		{"/nix/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-" + strings.Repeat("a", 212), "longer than 211"},
		{"/nix/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-hello/bin/hello", "not allowed"},
		{"/nix/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwme-hello", "base-32"}, // e is not nix-base32
		{"/nix/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1_hello", "form"},
		{"/nix/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-", "form"},
		{"/nix/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-.hidden", "starts with a dot"},
		{"/gnu/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-hello", "not under /nix/store/"},
		{"", "not under"},
		{"/nix/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-a\"; builtins.abort \"x", "not allowed"},
		{"/nix/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-${x}", "not allowed"},
		{"/nix/store/../../etc/passwd0000000000000000000000000", "form"},
	}
	for _, tt := range tests {
		err := ValidateStorePath(tt.path)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("ValidateStorePath(%q) = %v, want nil", tt.path, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("ValidateStorePath(%q) = %v, want error containing %q", tt.path, err, tt.want)
		}
	}
}

func TestBuild(t *testing.T) {
	tests := []struct {
		name string
		raw  []cachix.Pin
		opts Options
		want []Pin
	}{
		{
			name: "systems split off, other dots kept, sorted",
			raw: []cachix.Pin{
				raw("tool.v2.x86_64-linux", pathB),
				raw("hello.x86_64-linux", pathA, "bin/hello", "share/man"),
				raw("v1.7", pathA),
			},
			want: []Pin{
				{PinName: "hello.x86_64-linux", Name: "hello", System: "x86_64-linux", StorePath: pathA, Artifacts: []string{"bin/hello", "share/man"}, Program: "bin/hello", Revision: 1},
				{PinName: "tool.v2.x86_64-linux", Name: "tool.v2", System: "x86_64-linux", StorePath: pathB, Program: "bin/tool.v2", Revision: 1},
				{PinName: "v1.7", Name: "v1.7", StorePath: pathA, Program: "bin/v1.7", Revision: 1},
			},
		},
		{
			name: "single bin artifact names the program",
			raw:  []cachix.Pin{raw("ripgrep", pathA, "bin/rg", "share/doc/x")},
			want: []Pin{{PinName: "ripgrep", Name: "ripgrep", StorePath: pathA, Artifacts: []string{"bin/rg", "share/doc/x"}, Program: "bin/rg", Revision: 1}},
		},
		{
			name: "several bin artifacts fall back to the name",
			raw:  []cachix.Pin{raw("tools", pathA, "bin/a", "bin/b")},
			want: []Pin{{PinName: "tools", Name: "tools", StorePath: pathA, Artifacts: []string{"bin/a", "bin/b"}, Program: "bin/tools", Revision: 1}},
		},
		{
			name: "a name that cannot be a file has no program",
			raw:  []cachix.Pin{raw("a/b", pathA)},
			want: []Pin{{PinName: "a/b", Name: "a/b", StorePath: pathA, Revision: 1}},
		},
		{
			name: "include and exclude match full or short names",
			raw: []cachix.Pin{
				raw("hello.x86_64-linux", pathA),
				raw("hello.aarch64-darwin", pathA),
				raw("tool", pathB),
				raw("test-thing", pathB),
			},
			opts: Options{Include: []string{"hello", "t*"}, Exclude: []string{"*.aarch64-darwin", "test-*"}},
			want: []Pin{
				{PinName: "hello.x86_64-linux", Name: "hello", System: "x86_64-linux", StorePath: pathA, Program: "bin/hello", Revision: 1},
				{PinName: "tool", Name: "tool", StorePath: pathB, Program: "bin/tool", Revision: 1},
			},
		},
		{
			name: "hostile names stay data",
			raw:  []cachix.Pin{raw(`a"; ${builtins.abort "x"} \`, pathA)},
			want: []Pin{{PinName: `a"; ${builtins.abort "x"} \`, Name: `a"; ${builtins.abort "x"} \`, StorePath: pathA, Program: `bin/a"; ${builtins.abort "x"} \`, Revision: 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := Build(tt.raw, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, set.Pins); diff != "" {
				t.Errorf("pins (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name    string
		raw     []cachix.Pin
		opts    Options
		is      error
		mention []string
	}{
		{
			name:    "bad store path names pin and field",
			raw:     []cachix.Pin{raw("hello.x86_64-linux", "/nix/store/nope")},
			mention: []string{`pin "hello.x86_64-linux"`, "lastRevision.storePath", "--on-invalid=skip"},
		},
		{
			name:    "artifact escaping the store path",
			raw:     []cachix.Pin{raw("hello", pathA, "../../etc/passwd")},
			mention: []string{`pin "hello"`, "lastRevision.artifacts"},
		},
		{
			name:    "absolute artifact",
			raw:     []cachix.Pin{raw("hello", pathA, "/bin/sh")},
			mention: []string{"lastRevision.artifacts"},
		},
		{
			name:    "control character in name",
			raw:     []cachix.Pin{raw("a\nb", pathA)},
			mention: []string{"name", "control or format character U+000A"},
		},
		{
			name:    "bidirectional override in name",
			raw:     []cachix.Pin{raw("safe\u202eexe.x86_64-linux", pathA)},
			mention: []string{"format character U+202E"},
		},
		{
			name:    "name reserved by Nix",
			raw:     []cachix.Pin{raw("__functor", pathA)},
			mention: []string{`pin "__functor"`, "reserved by Nix"},
		},
		{
			name:    "outPath would make the set a string",
			raw:     []cachix.Pin{raw("outPath.x86_64-linux", pathA)},
			mention: []string{`pin "outPath.x86_64-linux"`, "reserved by Nix"},
		},
		{
			name:    "empty name",
			raw:     []cachix.Pin{raw("", pathA)},
			mention: []string{"name: empty"},
		},
		{
			name:    "nothing but a system",
			raw:     []cachix.Pin{raw(".x86_64-linux", pathA)},
			mention: []string{"nothing is left"},
		},
		{
			name:    "duplicate pins conflict",
			raw:     []cachix.Pin{raw("a.x86_64-linux", pathA), raw("a.x86_64-linux", pathB)},
			is:      ErrConflict,
			mention: []string{pathA, pathB, `"a" on x86_64-linux`},
		},
		{
			name:    "no pins",
			raw:     nil,
			is:      ErrEmpty,
			mention: []string{"the cache has no pins", "--allow-empty"},
		},
		{
			name:    "all filtered out",
			raw:     []cachix.Pin{raw("a", pathA)},
			opts:    Options{Exclude: []string{"*"}},
			is:      ErrEmpty,
			mention: []string{"none of the 1 pins matches"},
		},
		{
			name:    "all skipped",
			raw:     []cachix.Pin{raw("a", "bad")},
			opts:    Options{OnInvalid: Skip},
			is:      ErrEmpty,
			mention: []string{"every pin is invalid"},
		},
		{
			name:    "bad glob",
			raw:     []cachix.Pin{raw("a", pathA)},
			opts:    Options{Include: []string{"["}},
			is:      nil,
			mention: []string{"include", `"["`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Build(tt.raw, tt.opts)
			if err == nil {
				t.Fatal("Build succeeded, want an error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			for _, m := range tt.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
		})
	}
}

func TestBuildInvalidPinErrorAs(t *testing.T) {
	_, err := Build([]cachix.Pin{raw("x", "nope")}, Options{})
	var ip *InvalidPinError
	if !errors.As(err, &ip) || ip.PinName != "x" || ip.Field != "lastRevision.storePath" {
		t.Fatalf("error %v is not an InvalidPinError for x's store path", err)
	}
}

func TestBuildSkip(t *testing.T) {
	set, err := Build([]cachix.Pin{raw("bad", "/nix/store/x"), raw("good", pathA)}, Options{OnInvalid: Skip})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Pins) != 1 || set.Pins[0].Name != "good" {
		t.Errorf("pins = %+v, want only good", set.Pins)
	}
	if len(set.Skipped) != 1 || set.Skipped[0].PinName != "bad" || !strings.Contains(set.Skipped[0].Reason, "storePath") ||
		strings.Contains(set.Skipped[0].Reason, "--on-invalid") {
		t.Errorf("skipped = %+v, want bad with its reason", set.Skipped)
	}
}

// TestBuildFieldName: a source that names its fields otherwise has them
// named so in the error and in a skipped pin's reason.
func TestBuildFieldName(t *testing.T) {
	name := func(pin, field string) string { return field + " of object " + pin }
	_, err := Build([]cachix.Pin{raw("x", "nope")}, Options{FieldName: name})
	var ip *InvalidPinError
	if !errors.As(err, &ip) || ip.Field != "lastRevision.storePath of object x" || !strings.Contains(err.Error(), `pin "x": lastRevision.storePath of object x: `) {
		t.Errorf("error %v: want the field as the source names it", err)
	}
	set, err := Build([]cachix.Pin{raw("bad", "nope"), raw("good", pathA)}, Options{OnInvalid: Skip, FieldName: name})
	if err != nil || len(set.Skipped) != 1 || !strings.HasPrefix(set.Skipped[0].Reason, "lastRevision.storePath of object bad: ") {
		t.Errorf("skipped %+v (%v): want the field as the source names it", set, err)
	}
}

func TestAllowEmpty(t *testing.T) {
	set, err := Build(nil, Options{AllowEmpty: true})
	if err != nil || len(set.Pins) != 0 {
		t.Fatalf("Build(nil, AllowEmpty) = %v, %v", set, err)
	}
}

func TestSystems(t *testing.T) {
	set, err := Build([]cachix.Pin{raw("a.x86_64-linux", pathA), raw("b.x86_64-linux", pathA), raw("a.aarch64-darwin", pathA), raw("c", pathA)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"aarch64-darwin", "x86_64-linux"}, set.Systems()); diff != "" {
		t.Error(diff)
	}
}

// TestBuildSortsAnyOrder gives Build the same pins in sorted, reversed and
// shuffled order: the set is the same, sorted by name then system.
func TestBuildSortsAnyOrder(t *testing.T) {
	var raw []cachix.Pin
	for i := range 300 {
		for _, sys := range []string{"", ".aarch64-linux", ".x86_64-linux"} {
			name := fmt.Sprintf("tool-%03d", (i*7919)%300) + sys
			raw = append(raw, cachix.Pin{Name: name, LastRevision: cachix.Revision{StorePath: "/nix/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-" + fmt.Sprint(i)}})
		}
	}
	sortedRaw := slices.Clone(raw)
	slices.SortFunc(sortedRaw, func(a, b cachix.Pin) int {
		an, as := SplitName(a.Name)
		bn, bs := SplitName(b.Name)
		if c := strings.Compare(an, bn); c != 0 {
			return c
		}
		return strings.Compare(as, bs)
	})
	want, err := Build(sortedRaw, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(want.Pins); i++ {
		if a, b := want.Pins[i-1], want.Pins[i]; a.Name > b.Name || a.Name == b.Name && a.System >= b.System {
			t.Fatalf("not sorted at %d: %s/%s then %s/%s", i, a.Name, a.System, b.Name, b.System)
		}
	}
	reversed := slices.Clone(sortedRaw)
	slices.Reverse(reversed)
	shuffled := slices.Clone(sortedRaw)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for name, in := range map[string][]cachix.Pin{"as given": raw, "reversed": reversed, "shuffled": shuffled} {
		got, err := Build(in, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want.Pins, got.Pins); diff != "" {
			t.Errorf("%s: set differs (-want +got):\n%s", name, diff)
		}
	}
}

func TestIsBase32IsNixAlphabet(t *testing.T) {
	for c := range 256 {
		if got, want := isBase32(byte(c)), strings.IndexByte(nixBase32, byte(c)) >= 0; got != want {
			t.Errorf("isBase32(%q) = %v, want %v", byte(c), got, want)
		}
	}
}

// TestBuildListsEveryInvalidPin: --on-invalid=fail names every invalid pin
// (up to MaxInvalidListed), so that one run shows all there is to fix; one
// invalid pin is its own error, as before.
func TestBuildListsEveryInvalidPin(t *testing.T) {
	ok := cachix.Pin{Name: "ok", LastRevision: cachix.Revision{StorePath: pathA}}
	bad := func(name string) cachix.Pin {
		return cachix.Pin{Name: name, LastRevision: cachix.Revision{StorePath: "/tmp/x"}}
	}

	_, err := Build([]cachix.Pin{ok, bad("b"), bad("a"), {Name: "outPath", LastRevision: cachix.Revision{StorePath: pathA}}}, Options{})
	var many *InvalidPinsError
	var first *InvalidPinError
	if !errors.As(err, &many) || !errors.As(err, &first) || first.PinName != "a" {
		t.Fatalf("error %v: want an *InvalidPinsError whose first pin is a", err)
	}
	for _, want := range []string{"3 pins are invalid:", `pin "a": lastRevision.storePath:`, `pin "b": lastRevision.storePath:`, `pin "outPath": name:`, "--on-invalid=skip"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}

	_, err = Build([]cachix.Pin{ok, bad("b")}, Options{})
	if !errors.As(err, &first) || errors.As(err, &many) || first.PinName != "b" {
		t.Errorf("one invalid pin: error %v, want its *InvalidPinError alone", err)
	}

	var raw []cachix.Pin
	for i := range MaxInvalidListed + 5 {
		raw = append(raw, bad(fmt.Sprintf("p%02d", i)))
	}
	_, err = Build(raw, Options{})
	if !errors.As(err, &many) || len(many.Pins) != MaxInvalidListed || many.More != 5 || !strings.Contains(err.Error(), "and 5 more") {
		t.Errorf("many invalid pins: %v", err)
	}
}

// TestBuildNoRevision: a pin Cachix lists without a lastRevision says so,
// not that its store path is empty, and --on-invalid decides as for any
// invalid pin; skipping it never makes an empty bundle by itself.
func TestBuildNoRevision(t *testing.T) {
	none := func(name string) cachix.Pin { return cachix.Pin{Name: name, NoLastRevision: true} }
	tests := []struct {
		name        string
		raw         []cachix.Pin
		opts        Options
		wantErr     []string // substrings; none: Build succeeds
		wantIs      error
		wantPins    []string
		wantSkipped []Skipped
	}{
		{
			name:    "fail",
			raw:     []cachix.Pin{raw("ok", pathA), none("never.x86_64-linux")},
			wantErr: []string{`pin "never.x86_64-linux": lastRevision: missing (no store path was ever pinned under this name); pin one with ` + "`cachix pin CACHE never.x86_64-linux STORE-PATH`", "--on-invalid=skip"},
			wantIs:  ErrNoRevision,
		},
		{
			name:    "a name the shell would split",
			raw:     []cachix.Pin{none("my tool")},
			wantErr: []string{"`cachix pin CACHE NAME STORE-PATH`"},
			wantIs:  ErrNoRevision,
		},
		{
			name:    "listed with the other invalid pins",
			raw:     []cachix.Pin{raw("bad", "/tmp/x"), none("never")},
			wantErr: []string{"2 pins are invalid:", `pin "bad": lastRevision.storePath:`, `pin "never": lastRevision: missing`},
			wantIs:  ErrNoRevision,
		},
		{
			name:        "skip",
			raw:         []cachix.Pin{none("never"), raw("ok", pathA)},
			opts:        Options{OnInvalid: Skip},
			wantPins:    []string{"ok"},
			wantSkipped: []Skipped{{PinName: "never", Reason: "lastRevision: missing (no store path was ever pinned under this name); pin one with `cachix pin CACHE never STORE-PATH`"}},
		},
		{
			name:    "skip the only pin",
			raw:     []cachix.Pin{none("never")},
			opts:    Options{OnInvalid: Skip},
			wantErr: []string{"every pin is invalid", "refusing to publish an empty bundle"},
			wantIs:  ErrEmpty,
		},
		{
			name:        "skip the only pin, empty allowed",
			raw:         []cachix.Pin{none("never")},
			opts:        Options{OnInvalid: Skip, AllowEmpty: true},
			wantPins:    []string{},
			wantSkipped: []Skipped{{PinName: "never", Reason: "lastRevision: missing (no store path was ever pinned under this name); pin one with `cachix pin CACHE never STORE-PATH`"}},
		},
		{
			name:    "a bad name is said first",
			raw:     []cachix.Pin{none("__functor")},
			wantErr: []string{`pin "__functor": name:`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := Build(tt.raw, tt.opts)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("Build succeeded, want an error")
				}
				for _, want := range tt.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not contain %q", err, want)
					}
				}
				if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
					t.Errorf("error %v is not %v", err, tt.wantIs)
				}
				if strings.Contains(err.Error(), "storePath: \"\"") {
					t.Errorf("error %q speaks of an empty store path", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			names := []string{}
			for _, p := range set.Pins {
				names = append(names, p.PinName)
			}
			if diff := cmp.Diff(tt.wantPins, names); diff != "" {
				t.Errorf("pins (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantSkipped, set.Skipped); diff != "" {
				t.Errorf("skipped (-want +got):\n%s", diff)
			}
		})
	}
}
