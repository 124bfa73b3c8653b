package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
	"github.com/kwbauson/create-pin-refs/pkg/verdicts"
	"github.com/kwbauson/create-pin-refs/test/fakecachix"
	"github.com/kwbauson/create-pin-refs/test/fakegithub"
)

// branchFixture is incrFixture publishing in branch mode to a local GitHub,
// each time from a fresh --out unless given one, as a CI runner does.
type branchFixture struct {
	*incrFixture
	gh   *fakegithub.Server
	args []string
}

func newBranchFixture(t *testing.T) *branchFixture {
	t.Helper()
	if !fakegithub.HaveGit() {
		t.Skip("needs git")
	}
	gh := fakegithub.New(t, fakegithub.Options{Owner: "octo", Repo: "pins", Token: token})
	return &branchFixture{newIncrFixture(t), gh,
		[]string{"--mode", "branch", "--repo", "octo/pins", "--github-api-url", gh.APIURL(), "--github-token", token}}
}

// publish publishes from out ("": a fresh one) and returns the log, the
// narinfo requests and the GitHub requests made.
func (f *branchFixture) publish(t *testing.T, out string, now time.Time, more ...string) (string, int, []fakegithub.Request) {
	t.Helper()
	if out == "" {
		out = filepath.Join(t.TempDir(), "site")
	}
	before := len(f.gh.Requests())
	log, n := f.incrFixture.publish(t, out, now, append(slices.Clone(f.args), more...)...)
	return log, n, f.gh.Requests()[before:]
}

const branchAt = "branch pins of octo/pins"

func writesOf(reqs []fakegithub.Request) int {
	n := 0
	for _, r := range reqs {
		if r.Write {
			n++
		}
	}
	return n
}

// TestIncrementalBranch: the branch holds the site's pins.json (less the
// immutable bundles, which it does not serve), so branch mode reuses its
// verdicts on a fresh runner too; the same pins make no write, verdicts
// renewed after --reverify-after make a commit, and --reverify reads no
// verdict.
func TestIncrementalBranch(t *testing.T) {
	f := newBranchFixture(t)
	out := filepath.Join(t.TempDir(), "site")
	log, n, _ := f.publish(t, out, t0)
	if n != 17 {
		t.Errorf("the first publish: %d narinfo requests, want 17", n)
	}
	wantLog(t, log, "notice: verification: no verdicts to reuse from "+branchAt+": pins.json: not on the branch (branch pins does not exist yet), nor from "+out+": pins.json: not found; walking every closure")
	checkBranchManifest(t, f.gh, out)

	moved := append([]cachix.Pin{}, f.pins...)
	moved[3] = incrPin("p3", fakecachix.StorePath("moved"))
	f.srv.SetPins("demo", moved)
	log, n, _ = f.publish(t, "", t0.Add(time.Hour))
	if n != 3+verdicts.Sample {
		t.Errorf("a moved pin on a fresh runner: %d narinfo requests, want %d", n, 3+verdicts.Sample)
	}
	wantLog(t, log, "verification: reused 12 verdicts from "+branchAt+", walked 1 closure", "committed ", "signed by GitHub: Verified")

	// The same pins: the same verdicts, so the same tree, and nothing
	// written to find out.
	log, n, reqs := f.publish(t, "", t0.Add(2*time.Hour))
	if n != verdicts.Sample || writesOf(reqs) != 0 {
		t.Errorf("the same pins: %d narinfo requests, %d writes; want %d, none:\n%+v", n, writesOf(reqs), verdicts.Sample, reqs)
	}
	wantLog(t, log, "reused 13 verdicts from "+branchAt, "nothing written")

	// Renewed verdicts are a commit, or the branch would keep the old times
	// and every later publish walk everything; then none again.
	log, _, reqs = f.publish(t, "", t0.Add(8*24*time.Hour))
	wantLog(t, log, "13 verdicts older than --reverify-after", "committed ")
	if writesOf(reqs) == 0 {
		t.Errorf("renewed verdicts wrote nothing")
	}
	log, n, reqs = f.publish(t, "", t0.Add(8*24*time.Hour+time.Hour))
	if n != verdicts.Sample || writesOf(reqs) != 0 {
		t.Errorf("after the renewal: %d narinfo requests, %d writes; want %d, none", n, writesOf(reqs), verdicts.Sample)
	}
	wantLog(t, log, "walked 0 closures", "nothing written")

	log, _, reqs = f.publish(t, "", t0.Add(8*24*time.Hour+2*time.Hour), "--reverify")
	wantLog(t, log, "verification: --reverify: walking every closure", "walked 13 closures")
	for _, r := range reqs {
		if strings.Contains(r.Path, "/git/blobs/") {
			t.Errorf("--reverify read a blob: %s %s", r.Method, r.Path)
		}
	}

	// Naming the author makes a commit GitHub does not sign.
	log, _, _ = f.publish(t, "", t0.Add(9*24*time.Hour), "--commit-author", "Pin Bot <pins@example.com>", "--reverify")
	wantLog(t, log, "not signed: --commit-author names who made it")
}

// checkBranchManifest checks that the branch's pins.json is the one in out
// less its bundle list.
func checkBranchManifest(t *testing.T, gh *fakegithub.Server, out string) {
	t.Helper()
	onBranch, err := gh.Git("show", "pins:pins.json")
	if err != nil {
		t.Errorf("the branch's pins.json: %v", err)
		return
	}
	var branchM, siteM map[string]json.RawMessage
	if err := json.Unmarshal([]byte(onBranch), &branchM); err != nil {
		t.Fatalf("the branch's pins.json: %v", err)
	}
	siteData, err := os.ReadFile(filepath.Join(out, "pins.json"))
	if err == nil {
		err = json.Unmarshal(siteData, &siteM)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := siteM["bundles"]; !ok {
		t.Errorf("the site's pins.json lists no bundles")
	}
	delete(siteM, "bundles")
	if diff := cmp.Diff(siteM, branchM); diff != "" {
		t.Errorf("the branch's pins.json is not the site's less its bundles (-site +branch):\n%s", diff)
	}
}

// TestIncrementalBranchFallback: a branch whose pins.json is missing (one
// written by an older version), damaged or of another format gives no
// verdicts, with a notice and never a failure: those of a kept --out serve
// then, and else every closure is walked.
func TestIncrementalBranchFallback(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit func(t *testing.T, dir string)
		why  string
	}{
		{"no pins.json", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "pins.json")); err != nil {
				t.Fatal(err)
			}
		}, "pins.json: not on the branch at "},
		{"damaged", func(t *testing.T, dir string) { truncate(t, filepath.Join(dir, "pins.json")) },
			"pins.json: damaged: unexpected end of JSON input"},
		{"of another format", func(t *testing.T, dir string) {
			rewrite(t, filepath.Join(dir, "pins.json"), `{"format":2`, `{"format":1`)
		}, "pins.json: of another format: format 1, this version writes 2"},
		{"a folder", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "pins.json")
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Join(p, "x"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(p, "x", "y"), []byte("y"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "pins.json: not on the branch at "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newBranchFixture(t)
			kept := filepath.Join(t.TempDir(), "site")
			f.publish(t, kept, t0)
			editBranch(t, f.gh, func(dir string) { tt.edit(t, dir) })

			log, n, _ := f.publish(t, "", t0.Add(time.Hour))
			wantLog(t, log, "notice: verification: no verdicts to reuse from "+branchAt+": "+tt.why, "; walking every closure")
			if n < 17 || !strings.Contains(log, "walked 13 closures") {
				t.Errorf("a fresh runner: %d narinfo requests, want at least 17, and 13 closures walked:\n%s", n, log)
			}

			// That publish mended the branch; spoil it again for a runner
			// that kept --out.
			editBranch(t, f.gh, func(dir string) { tt.edit(t, dir) })
			log, n, _ = f.publish(t, kept, t0.Add(2*time.Hour))
			wantLog(t, log, "notice: verification: no verdicts to reuse from "+branchAt+": "+tt.why, "; reusing those of "+kept,
				"verification: reused 13 verdicts from "+kept+", walked 0 closures")
			if n != verdicts.Sample {
				t.Errorf("a kept --out: %d narinfo requests, want %d", n, verdicts.Sample)
			}
		})
	}
}

// editBranch commits on top of the branch what edit makes of a checkout of
// it, as a hand edit or an older version would.
func editBranch(t *testing.T, gh *fakegithub.Server, edit func(dir string)) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "work")
	git := func(in string, args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=Someone", "-c", "user.email=someone@example.com"}, args...)...)
		cmd.Dir = in
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("", "clone", "--quiet", "--branch", "pins", gh.GitDir, dir)
	edit(dir)
	git(dir, "add", "--all")
	git(dir, "commit", "--quiet", "-m", "hand-made")
	git(dir, "push", "--quiet", gh.GitDir, "HEAD:refs/heads/pins")
}
