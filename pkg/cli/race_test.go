package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kwbauson/create-pin-refs/pkg/retry"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
	"github.com/kwbauson/create-pin-refs/test/fakecachix"
	"github.com/kwbauson/create-pin-refs/test/fakegithub"
)

// branchJob is one matrix job's publish: the cache's pins to the pins
// branch of octo/pins, with waits that return at once.
type branchJob struct {
	t  *testing.T
	cx *fakecachix.Server
	gh *fakegithub.Server
}

func (j branchJob) run() output { return j.runIn(filepath.Join(j.t.TempDir(), "site")) }

// runIn runs the job with its site in out.
func (j branchJob) runIn(out string) output {
	var stdout, stderr strings.Builder
	code := Main(context.Background(), []string{"--cache", "demo", "--cachix-url", j.cx.URL(), "--verify", "off",
		"--out", out, "--mode", "branch", "--repo", "octo/pins", "--github-api-url", j.gh.APIURL()}, Env{
		Getenv:  func(k string) string { return map[string]string{"GITHUB_TOKEN": token}[k] },
		Stdout:  &stdout,
		Stderr:  &stderr,
		Version: "test",
		Retry:   retry.Policy{Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }},
	})
	return output{code, stdout.String(), stderr.String()}
}

// names reads the names the pins branch's bundle serves, from the fake's
// git repository.
func (j branchJob) names() []string {
	j.t.Helper()
	data, err := j.gh.Git("show", "pins:data/index/all.json")
	if err != nil {
		j.t.Fatal(err)
	}
	var index map[string]int
	if err := json.Unmarshal([]byte(data), &index); err != nil {
		j.t.Fatal(err)
	}
	return slices.Sorted(maps.Keys(index))
}

func newBranchJob(t *testing.T) branchJob {
	t.Helper()
	if !fakegithub.HaveGit() {
		t.Skip("needs git")
	}
	return branchJob{
		t:  t,
		cx: fakecachix.Start(t, fakecachix.Options{Caches: []fakecachix.Cache{{Name: "demo"}}}),
		gh: fakegithub.New(t, fakegithub.Options{Owner: "octo", Repo: "pins", Token: token}),
	}
}

// pinsNamed returns example pins renamed, one per name.
func pinsNamed(t *testing.T, names ...string) []cachix.Pin {
	var out []cachix.Pin
	for i, name := range names {
		p := examplePins(t)[i%7]
		p.Name = name
		out = append(out, p)
	}
	return out
}

// TestBranchRace is two matrix jobs publishing at once: A reads the pins
// {a}; before it commits, b is pinned and job B publishes {a, b}. A must
// notice that the branch moved after it read it, read the pins again and
// leave a branch with both: committing its {a} on top of B's commit would
// drop b.
func TestBranchRace(t *testing.T) {
	tests := []struct {
		name   string
		before []string // the pins of a publish before A's; nil: no branch
		a, b   []string // the pins A reads first, and after b is pinned
	}{
		{"first publish", nil, []string{"a"}, []string{"a", "b"}},
		{"update", []string{"z"}, []string{"z", "a"}, []string{"z", "a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := newBranchJob(t)
			if tt.before != nil {
				j.cx.SetPins("demo", pinsNamed(t, tt.before...))
				if r := j.run(); r.code != ExitOK {
					t.Fatalf("publish before: exit %d:\n%s", r.code, r.stderr)
				}
			}
			j.cx.SetPins("demo", pinsNamed(t, tt.a...))
			var b output
			var fired atomic.Bool
			j.gh.OnRequest(func(method, path string) {
				// A is about to commit its bundle of tt.a.
				if method == "POST" && strings.HasSuffix(path, "/git/trees") && fired.CompareAndSwap(false, true) {
					j.cx.SetPins("demo", pinsNamed(t, tt.b...))
					b = j.run()
				}
			})
			out := filepath.Join(t.TempDir(), "site")
			a := j.runIn(out)
			if !fired.Load() || b.code != ExitOK {
				t.Fatalf("job B: ran %v, exit %d:\n%s", fired.Load(), b.code, b.stderr)
			}
			if a.code != ExitOK {
				t.Fatalf("job A: exit %d:\n%s", a.code, a.stderr)
			}
			if got := j.names(); !slices.Equal(got, slices.Sorted(slices.Values(tt.b))) {
				t.Errorf("the branch serves %v, want %v:\njob A:\n%s", got, tt.b, a.stderr)
			}
			if testing.Verbose() {
				t.Log(a.stderr)
			}
			for _, want := range []string{"notice: branch pins of octo/pins moved from ", "another publish landed): reading the pins again in ", "(round 2 of 5)"} {
				if !strings.Contains(a.stderr, want) {
					t.Errorf("job A did not say %q:\n%s", want, a.stderr)
				}
			}
			if n := strings.Count(a.stderr, "== Reading pins\n"); n != 2 {
				t.Errorf("job A read the pins %d times, want 2:\n%s", n, a.stderr)
			}
			// The bundle of the first reading was never published: the
			// site does not serve it as an earlier publish's.
			if m := readManifest(t, out); len(m.Bundles) != 1 {
				t.Errorf("the site lists the bundles %+v, want only its own", m.Bundles)
			}
		})
	}
}

// TestBranchRaceGivesUp: a publish that other publishes keep overtaking
// reads the pins branchRounds times, then fails saying so and what to do;
// the branch keeps the others' commits. Each time A is about to commit, b_k
// is pinned and another job publishes, then c_k is pinned: so A's next
// reading differs from what the branch holds, and it commits again.
func TestBranchRaceGivesUp(t *testing.T) {
	j := newBranchJob(t)
	names := []string{"a"}
	j.cx.SetPins("demo", pinsNamed(t, names...))
	var others int
	var inOther atomic.Bool
	var otherErr string
	var published []string
	j.gh.OnRequest(func(method, path string) {
		if method != "POST" || !strings.HasSuffix(path, "/git/trees") || !inOther.CompareAndSwap(false, true) {
			return
		}
		defer inOther.Store(false)
		names = append(names, fmt.Sprintf("b%d", others))
		j.cx.SetPins("demo", pinsNamed(t, names...))
		if r := j.run(); r.code != ExitOK {
			otherErr += r.stderr
		}
		published = slices.Sorted(slices.Values(names))
		names = append(names, fmt.Sprintf("c%d", others))
		j.cx.SetPins("demo", pinsNamed(t, names...))
		others++
	})
	a := j.run()
	if otherErr != "" {
		t.Fatalf("another job failed:\n%s", otherErr)
	}
	if a.code != ExitError || others != branchRounds {
		t.Fatalf("exit %d after %d other publishes, want %d and %d:\n%s", a.code, others, ExitError, branchRounds, a.stderr)
	}
	for _, want := range []string{
		"create-pin-refs: error: publishing to branch pins of octo/pins: branch moved since the files were made: another publish moved branch \"pins\" from ",
		"other publishes moved it in each of 5 rounds of reading the pins: run this job again once they are done, or publish from one job that needs the others",
		"(round 5 of 5)",
	} {
		if !strings.Contains(a.stderr, want) {
			t.Errorf("job A did not say %q:\n%s", want, a.stderr)
		}
	}
	if got := j.names(); !slices.Equal(got, published) {
		t.Errorf("the branch serves %v, want the last other publish's %v", got, published)
	}
}
