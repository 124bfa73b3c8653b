package bundle

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kwbauson/create-pin-refs/pkg/pins"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
	"github.com/kwbauson/create-pin-refs/test/nixlock"
)

// nixEval evaluates expr with the nix-instantiate on PATH and decodes its JSON
// into v. Without Nix the test is skipped, unless CI is set: CI provisions Nix.
func nixEval(t testing.TB, expr string, v any) {
	t.Helper()
	bin, err := exec.LookPath("nix-instantiate")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("nix-instantiate is not on PATH; CI must provision Nix (test/nix/setup.sh)")
		}
		t.Skip("nix-instantiate is not on PATH; run test/nix/setup.sh to evaluate bundles with a real Nix")
	}
	unlock, err := nixlock.Shared() // never while test/e2e deletes from the store
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--eval", "--strict", "--json", "--read-write-mode", "-E", expr)
	cmd.Env = append(os.Environ(), "NIX_CONFIG=build-users-group =\nsandbox = false", "HOME="+t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nix-instantiate: %v\n%s", err, stderr.String())
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("decoding %s: %v", out, err)
	}
}

// nixStringCorpus holds strings that break naive quoting.
var nixStringCorpus = []string{
	"", "plain", `"`, `\`, `\"`, "${", "$${", "$", "${x}", `\${x}`, "''", "''${x}", "'''",
	"a\nb", "\r\n", "\t", "é🚀", "\u2028", "}", "{", "#", "/*", "*/", "<nixpkgs>",
	`"; builtins.abort "pwned"; "`, `${builtins.abort "pwned"}`, strings.Repeat(`\$"`, 50),
}

func TestNixStringAgainstNix(t *testing.T) {
	var expr strings.Builder
	expr.WriteString("[")
	for _, s := range nixStringCorpus {
		expr.WriteString(" " + NixString(s))
	}
	expr.WriteString(" ]")
	var got []string
	nixEval(t, expr.String(), &got)
	if diff := cmp.Diff(nixStringCorpus, got); diff != "" {
		t.Errorf("Nix read the quoted strings differently (-want +got):\n%s", diff)
	}
}

// FuzzNixString checks NixString against the Nix parser; `go test` runs the
// corpus, `go test -fuzz FuzzNixString ./pkg/bundle` explores.
func FuzzNixString(f *testing.F) {
	for _, s := range nixStringCorpus {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.ContainsRune(s, 0) || !isValidUTF8(s) {
			t.Skip("Nix strings hold neither NUL nor invalid UTF-8; the renderer rejects them first")
		}
		var got string
		nixEval(t, NixString(s), &got)
		if got != s {
			t.Errorf("NixString(%q) evaluates to %q", s, got)
		}
	})
}

func isValidUTF8(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// FuzzRender checks that no pin name, path or artifact changes the Nix code of a
// bundle and that the data reads back exactly.
func FuzzRender(f *testing.F) {
	for _, s := range nixStringCorpus {
		f.Add(s, "/nix/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-x", "bin/"+s)
	}
	const valid = "/nix/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-x"
	f.Add("v1.7", valid, "bin/x")
	f.Add("tool.v2.x86_64-linux", valid, "bin/tool")
	f.Add("..", valid, "bin/x")
	f.Add(strings.Repeat("long.", 200)+"x86_64-linux", valid, "share/doc")
	f.Add("v1.7", valid+"\"; abort", "bin/x")
	f.Add("x", valid, "../x")
	base, err := Render(&pins.Set{}, testMeta)
	if err != nil {
		f.Fatal(err)
	}
	code := map[string][]byte{}
	for _, file := range base.Files {
		if strings.HasSuffix(file.Path, ".nix") {
			code[file.Path] = file.Data
		}
	}
	f.Fuzz(func(t *testing.T, name, path, artifact string) {
		raw := []cachix.Pin{{Name: name, LastRevision: cachix.Revision{StorePath: path, Artifacts: []string{artifact}}}}
		set, err := pins.Build(raw, pins.Options{})
		if err != nil {
			// Refused, with an error that names the pin: nothing is written.
			var ip *pins.InvalidPinError
			if !errors.As(err, &ip) || ip.PinName != name {
				t.Fatalf("Build refused %q with %v, want an InvalidPinError naming it", name, err)
			}
			return
		}
		b, err := Render(set, testMeta)
		if err != nil {
			t.Fatalf("Render refused a pin that Build accepted: %v", err)
		}
		p := set.Pins[0]
		for _, file := range b.Files {
			if want, ok := code[file.Path]; ok && !bytes.Equal(want, file.Data) {
				t.Fatalf("pin %q changed %s", name, file.Path)
			}
			if !strings.HasPrefix(file.Path, "data/") && code[file.Path] == nil {
				t.Fatalf("pin %q added the file %s", name, file.Path)
			}
			if file.Path == "data/shards/0.json" {
				var shard map[string]map[string]struct{ Path, Program string }
				if err := json.Unmarshal(file.Data, &shard); err != nil {
					t.Fatal(err)
				}
				sys := p.System
				if sys == "" {
					sys = anySystem
				}
				if got := shard[p.Name][sys]; got.Path != p.StorePath || got.Program != p.Program {
					t.Fatalf("shard holds %+v for %q on %s, want %s %s", got, p.Name, sys, p.StorePath, p.Program)
				}
			}
		}
	})
}

// TestEvalRoundTrip evaluates rendered bundles with a real Nix and checks that
// every name, path and program reads back exactly, on every system.
func TestEvalRoundTrip(t *testing.T) {
	for _, file := range []string{"../../examples/pins.json", "testdata/hostile-pins.json"} {
		t.Run(filepath.Base(file), func(t *testing.T) {
			set := loadSet(t, file)
			b, err := Render(set, testMeta)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := b.WriteDir(dir); err != nil {
				t.Fatal(err)
			}
			type entry struct {
				Path    string `json:"path"`
				Program string `json:"program,omitempty"`
			}
			systems := append(set.Systems(), "riscv64-linux" /* no pins of its own */)
			var expr strings.Builder
			expr.WriteString("{")
			for _, sys := range systems {
				// storePath = p: p shows the paths without fetching them.
				expr.WriteString(NixString(sys) + " = let l = import " + dir + "/lib.nix { system = " + NixString(sys) + "; storePath = p: p; }; in { inherit (l) pins; programs = builtins.mapAttrs (n: a: a.program) (builtins.removeAttrs l.apps (builtins.filter (n: !(l.pins.${n} ? program)) (builtins.attrNames l.pins))); packages = builtins.attrNames l.packages; default = builtins.attrNames (import " + dir + "/default.nix { system = " + NixString(sys) + "; storePath = p: p; }); };")
			}
			expr.WriteString("}")
			var got map[string]struct {
				Pins     map[string]entry  `json:"pins"`
				Programs map[string]string `json:"programs"`
				Packages []string          `json:"packages"`
				Default  []string          `json:"default"`
			}
			nixEval(t, expr.String(), &got)
			for _, sys := range systems {
				want := map[string]entry{}
				for _, p := range set.Pins {
					if p.System == "" && want[p.Name] == (entry{}) || p.System == sys {
						want[p.Name] = entry{Path: p.StorePath, Program: p.Program}
					}
				}
				g := got[sys]
				if diff := cmp.Diff(want, g.Pins); diff != "" {
					t.Errorf("%s: pins (-want +got):\n%s", sys, diff)
				}
				var names []string
				for n, e := range want {
					names = append(names, n)
					if e.Program != "" && !strings.HasSuffix(g.Programs[n], "/"+e.Program) {
						t.Errorf("%s: app %q runs %q, want …/%s", sys, n, g.Programs[n], e.Program)
					}
				}
				if diff := cmp.Diff(names, g.Packages, sortStrings); diff != "" {
					t.Errorf("%s: package names (-want +got):\n%s", sys, diff)
				}
				if diff := cmp.Diff(g.Packages, g.Default); diff != "" {
					t.Errorf("%s: default.nix and lib.nix offer different names (-lib +default):\n%s", sys, diff)
				}
			}
		})
	}
}
