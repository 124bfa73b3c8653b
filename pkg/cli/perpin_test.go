package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kwbauson/create-pin-refs/bench/pinset"
	"github.com/kwbauson/create-pin-refs/test/fakegithub"
)

// TestBranchPerPin: branch mode commits each name's bundle unpacked at
// p/SEGMENT/, so that FLAKEREF?dir=p/SEGMENT is a flake; off removes them;
// an unchanged publish writes nothing.
func TestBranchPerPin(t *testing.T) {
	if !fakegithub.HaveGit() {
		t.Skip("needs git")
	}
	gh := fakegithub.New(t, fakegithub.Options{Owner: "octo", Repo: "pins", Token: token})
	publish := func(args ...string) string {
		t.Helper()
		r := run(t, map[string]string{"GITHUB_TOKEN": token}, append([]string{"--pins-file", "../../examples/pins.json", "--cache-info-file", "../../examples/cache-info.json",
			"--out", t.TempDir(), "--mode", "branch", "--repo", "octo/pins", "--github-api-url", gh.APIURL()}, args...)...)
		if r.code != ExitOK {
			t.Fatalf("exit %d:\n%s", r.code, r.stderr)
		}
		return r.stderr
	}
	publish()
	for _, f := range []string{"default.nix", "flake.nix", "pin.nix"} {
		a, err1 := gh.Git("show", "pins:p/hello/"+f)
		b, err2 := gh.Git("show", "pins:p/v1.7/"+f)
		if err1 != nil || err2 != nil || a != b {
			t.Errorf("p/hello/%s and p/v1.7/%s: %v %v, want the same file", f, f, err1, err2)
		}
	}
	data, err := gh.Git("show", "pins:p/v1.7/pinned.json")
	var pin struct{ Name string }
	if err != nil || json.Unmarshal([]byte(data), &pin) != nil || pin.Name != "v1.7" {
		t.Errorf("p/v1.7/pinned.json: %v %q", err, data)
	}
	if stderr := publish(); !strings.Contains(stderr, "unchanged") {
		t.Errorf("a second publish of the same pins changed the branch:\n%s", stderr)
	}
	publish("--per-pin-urls", "off")
	if out, err := gh.Git("ls-tree", "pins", "p"); err != nil || out != "" {
		t.Errorf("--per-pin-urls off left p/ in the branch: %q %v", out, err)
	}
}

// BenchmarkBranchPerPin publishes generated pins to a fake GitHub in branch
// mode with and without one-name bundles, and reports what the first publish
// asks of the API: requests, request bytes and tree entries.
//
//	go test ./pkg/cli -run '^$' -bench BranchPerPin -benchtime 1x
func BenchmarkBranchPerPin(b *testing.B) {
	if !fakegithub.HaveGit() {
		b.Skip("needs git")
	}
	for _, n := range []int{1000, 10000} {
		raw := pinset.Synthetic(n)
		data, err := json.Marshal(raw)
		if err != nil {
			b.Fatal(err)
		}
		pinsFile := filepath.Join(b.TempDir(), "pins.json")
		if err := os.WriteFile(pinsFile, data, 0o644); err != nil {
			b.Fatal(err)
		}
		for _, mode := range []string{"off", "on"} {
			b.Run(fmt.Sprintf("pins=%d/per-pin=%s", n, mode), func(b *testing.B) {
				for range b.N {
					var stderr strings.Builder
					gh := fakegithub.New(b, fakegithub.Options{Owner: "octo", Repo: "pins", Token: token})
					code := Main(context.Background(), []string{"--pins-file", pinsFile, "--substituter", "https://demo.cachix.org", "--verify", "off",
						"--out", b.TempDir(), "--mode", "branch", "--repo", "octo/pins", "--github-api-url", gh.APIURL(), "--per-pin-urls", mode},
						Env{Getenv: func(k string) string { return map[string]string{"GITHUB_TOKEN": token}[k] }, Stdout: io.Discard, Stderr: &stderr})
					if code != ExitOK {
						b.Fatalf("exit %d:\n%s", code, stderr.String())
					}
					var bytes, treeBytes int64
					reqs := gh.Requests()
					for _, r := range reqs {
						bytes += r.RequestBytes
						if r.Method == "POST" && strings.HasSuffix(r.Path, "/git/trees") {
							treeBytes = r.RequestBytes
						}
					}
					entries, err := gh.Git("ls-tree", "-r", "-t", "pins")
					if err != nil {
						b.Fatal(err)
					}
					b.ReportMetric(float64(len(reqs)), "requests")
					b.ReportMetric(float64(bytes), "request-bytes")
					b.ReportMetric(float64(treeBytes), "tree-request-bytes")
					b.ReportMetric(float64(strings.Count(entries, "\n")+1), "tree-entries")
				}
			})
		}
	}
}

func TestPerPinFlakeRef(t *testing.T) {
	for ref, want := range map[string]string{
		"github:o/r/pins":                  "github:o/r/pins?dir=p/",
		"github:o/r/pins?host=ghe.example": "github:o/r/pins?host=ghe.example&dir=p/",
		"git+file:///srv/r.git?ref=pins":   "git+file:///srv/r.git?ref=pins&dir=p/",
	} {
		if got := PerPinFlakeRef(ref); got != want {
			t.Errorf("PerPinFlakeRef(%q) = %q, want %q", ref, got, want)
		}
	}
}
