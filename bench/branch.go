package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kwbauson/create-pin-refs/bench/pinset"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
	"github.com/kwbauson/create-pin-refs/test/fakegithub"
	"github.com/kwbauson/create-pin-refs/test/netem"
)

// branchChanged is how many pins an update changes.
const branchChanged = 5

// The three publishes measured at each size, in the order they run.
var branchCases = []string{"first publish", "update", "unchanged"}

// branchRow is one branch publish: create-pin-refs --mode branch against
// test/fakegithub (a real bare git repository behind GitHub's Git Data API).
type branchRow struct {
	pins  int
	kind  string // one of branchCases
	wall  sample // the process: wall, CPU, peak RSS
	calls map[string]int
	// Bodies only, as the fake saw them; GitHub's answers carry more fields
	// (URLs, verification), so real answers are somewhat larger.
	requestBytes, responseBytes int64
	// inFake is the time the fake took to answer, git included: what of the
	// wall time GitHub would spend instead.
	inFake time.Duration
}

// measureBranch publishes n synthetic pins to a new branch, then the same pins
// with branchChanged of them moved to other store paths, then those again; runs
// times each on a fresh repository, and returns the medians.
func measureBranch(ctx context.Context, bin string, sizes []int, runs int, work string, link netem.Link) ([]branchRow, error) {
	var rows []branchRow
	for _, n := range sizes {
		raw := pinset.Synthetic(n)
		srv, err := startPinServer(raw, serverOptions{link: link})
		if err != nil {
			return nil, err
		}
		samples := make([][]branchRow, len(branchCases))
		for r := range runs {
			got, err := branchRound(ctx, bin, filepath.Join(work, fmt.Sprintf("github-%d-%d", n, r)), srv, raw, changePins(raw, branchChanged))
			if err != nil {
				srv.Close()
				return nil, fmt.Errorf("%d pins, branch mode: %w", n, err)
			}
			for i, row := range got {
				row.pins = n
				samples[i] = append(samples[i], row)
			}
		}
		srv.Close()
		for _, s := range samples {
			rows = append(rows, medianBranch(s))
		}
	}
	return rows, nil
}

// github is test/fakegithub served as one more of srv's hosts: over its link,
// its requests counted with the others.
type github struct {
	*fakegithub.Server
	host *host
}

func startGitHub(dir string, srv *pinServer) (*github, error) {
	gh, err := fakegithub.Start(dir, fakegithub.Options{Owner: "bench", Repo: "pins"})
	if err != nil {
		return nil, err
	}
	h, err := startHost(gh, srv.link, srv.proto, srv.counts, githubKind)
	if err != nil {
		gh.Close()
		return nil, err
	}
	return &github{Server: gh, host: h}, nil
}

func (g *github) apiURL() string { return g.host.url + "/api/v3" }

func (g *github) Close() {
	g.host.Close()
	g.Server.Close()
}

// branchRound runs the three publishes against a new fake GitHub in dir:
// srv listing first, then updated twice.
func branchRound(ctx context.Context, bin, dir string, srv *pinServer, first, updated []cachix.Pin) ([]branchRow, error) {
	defer os.RemoveAll(dir)
	gh, err := startGitHub(dir, srv)
	if err != nil {
		return nil, err
	}
	defer gh.Close()
	var rows []branchRow
	for i, raw := range [][]cachix.Pin{first, updated, updated} {
		if err := srv.setPins(raw); err != nil {
			return nil, err
		}
		before := len(gh.Requests())
		args := []string{"--cache", cacheName, "--cachix-url", srv.url, "--out", filepath.Join(dir, "out"),
			"--mode", "branch", "--repo", "bench/pins", "--github-api-url", gh.apiURL(), "--verify", "off"}
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = []string{"GITHUB_TOKEN=" + gh.Token}
		s, err := runMeasured(ctx, srv.counts, cmd)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", branchCases[i], err)
		}
		if errs := gh.InternalErrors(); len(errs) > 0 {
			return nil, fmt.Errorf("%s: fake GitHub failed: %v", branchCases[i], errs)
		}
		row := branchRow{kind: branchCases[i], wall: s, calls: map[string]int{}}
		for _, r := range gh.Requests()[before:] {
			row.calls[r.Method]++
			row.requestBytes += r.RequestBytes
			row.responseBytes += r.ResponseBytes
			row.inFake += r.Took
		}
		rows = append(rows, row)
	}
	// Each publish did what its case says: a new branch, a new commit on it,
	// then none.
	if err := checkBranchCommits(gh); err != nil {
		return nil, err
	}
	return rows, nil
}

// checkBranchCommits makes sure the branch holds a first publish and an
// update, and no commit of the unchanged publish.
func checkBranchCommits(gh *github) error {
	if log, err := gh.Git("rev-list", "--count", "refs/heads/pins"); err != nil || log != "2" {
		return fmt.Errorf("the branch has %q commits (%v), want 2: a first publish and an update", log, err)
	}
	return nil
}

// changePins returns raw with k pins, spread over the list, pointing at other
// store paths (the hash's first character changed), as a rebuild does.
func changePins(raw []cachix.Pin, k int) []cachix.Pin {
	out := slices.Clone(raw)
	const hashStart = len("/nix/store/")
	k = min(k, len(out))
	for i := range k {
		j := i * len(out) / k
		p := out[j].LastRevision.StorePath
		c := byte('0')
		if p[hashStart] == '0' {
			c = '1'
		}
		out[j].LastRevision.StorePath = p[:hashStart] + string(c) + p[hashStart+1:]
		out[j].LastRevision.Revision++
	}
	return out
}

func medianBranch(rows []branchRow) branchRow {
	m := rows[len(rows)/2]
	samples := make([]sample, len(rows))
	inFake := make([]time.Duration, len(rows))
	for i, r := range rows {
		samples[i], inFake[i] = r.wall, r.inFake
	}
	m.wall, m.inFake = median(samples), medianDuration(inFake)
	return m // calls and bytes are the same in every round
}

// callsByMethod shows API calls as "3 (GET 2, POST 1)".
func callsByMethod(calls map[string]int) string {
	total := 0
	var parts []string
	for _, method := range []string{"GET", "POST", "PATCH", "DELETE"} {
		if c := calls[method]; c > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", method, c))
			total += c
		}
	}
	return fmt.Sprintf("%d (%s)", total, strings.Join(parts, ", "))
}

func (r *report) writeBranch(w io.Writer) {
	fmt.Fprintln(w, "## Branch publish")
	fmt.Fprintln(w)
	if len(r.branch) == 0 {
		fmt.Fprint(w, "Not measured in this run (`-branch-runs 0`).\n\n")
		return
	}
	fmt.Fprintf(w, "`--mode branch` as a whole process against `test/fakegithub` (GitHub's Git Data API on loopback, a real "+
		"bare git repository behind it), on a new repository: the first publish (no branch yet), an update (%d pins "+
		"moved to other store paths), then the same pins again. API calls by method; bytes are the request and "+
		"response bodies (the fake's answers carry fewer fields than GitHub's, so real answers are somewhat larger); "+
		"wall time includes the fake's answers, git included, shown on their own. Median of %d round(s).\n\n", branchChanged, r.branchRuns)
	fmt.Fprintln(w, "| pins | publish | API calls | sent | received | wall | of which the fake | CPU | peak RSS |")
	fmt.Fprintln(w, "|---:|---|---|---:|---:|---:|---:|---:|---:|")
	for _, b := range r.branch {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %.1f MiB |\n", count(b.pins), b.kind, callsByMethod(b.calls),
			byteCount(b.requestBytes), byteCount(b.responseBytes), ms(b.wall.wall), ms(b.inFake), ms(b.wall.cpu), float64(b.wall.rssKiB)/1024)
	}
	fmt.Fprintln(w)
}

// byteCount shows small counts exactly: an unchanged publish sends none.
func byteCount(n int64) string {
	switch {
	case n < 10<<10:
		return fmt.Sprintf("%d B", n)
	case n < 10<<20:
		return kib(n)
	default:
		return mib(n)
	}
}
