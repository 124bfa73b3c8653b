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

	"github.com/kwbauson/create-pin-refs/bench/closures"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
	"github.com/kwbauson/create-pin-refs/test/netem"
)

// The modes the latency scenario publishes in, and the publishes of each,
// in the order they run.
var (
	latencyModes = []string{"pages", "branch", "dir"}
	latencyCases = []string{"first publish", "1 % moved", "unchanged"}
)

// latencyOriginal is the mode of the original pipeline's rows.
const latencyOriginal = "original"

// latencyRow is one publish of the latency scenario: the median of its runs.
type latencyRow struct {
	pins    int
	rtt     time.Duration
	mode    string // latencyOriginal or one of latencyModes
	publish string // one of latencyCases; "" for the original
	paths   int    // distinct store paths of the pins' closures
	sample
}

// latencyPins returns n pins over a bench/closures cache, the same pins with
// 1 % of them (at least one) moved to other store paths the cache holds
// with their closures, as a rebuild moves them, and the cache.
func latencyPins(n int) (first, moved []cachix.Pin, cache *closures.Cache) {
	k := max(1, n/100)
	cache = closures.New(n + k)
	all := closurePins(cache.Pins)
	first = all[:n]
	moved = slices.Clone(first)
	for i := range k {
		j := i * n / k
		moved[j].LastRevision.StorePath = all[n+i].LastRevision.StorePath
		moved[j].LastRevision.Revision++
	}
	return first, moved, cache
}

func storePaths(raw []cachix.Pin) []string {
	out := make([]string, len(raw))
	for i, p := range raw {
		out[i] = p.LastRevision.StorePath
	}
	return out
}

// measureLatency runs, for each pin count and each RTT, the original
// pipeline and the three publishes of every latency mode, runs times each,
// every server over base with that RTT, speaking proto. With trace, each
// publish's timeline is written there as it ends.
func measureLatency(ctx context.Context, bin string, sizes []int, rtts []time.Duration, runs int, base netem.Link, proto, work string, trace io.Writer) ([]latencyRow, error) {
	var rows []latencyRow
	for _, n := range sizes {
		first, moved, cache := latencyPins(n)
		paths := []int{cache.Reachable(storePaths(first)), cache.Reachable(storePaths(moved)), cache.Reachable(storePaths(moved))}
		for _, rtt := range rtts {
			link := base
			link.RTT = rtt
			got, err := latencyAt(ctx, bin, first, moved, cache, paths, runs, link, proto, work, trace)
			if err != nil {
				return nil, fmt.Errorf("%d pins, RTT %s: %w", n, rtt, err)
			}
			for _, r := range got {
				r.pins, r.rtt = n, rtt
				rows = append(rows, r)
			}
		}
	}
	return rows, nil
}

func latencyAt(ctx context.Context, bin string, first, moved []cachix.Pin, cache *closures.Cache, paths []int, runs int, link netem.Link, proto, work string, trace io.Writer) ([]latencyRow, error) {
	srv, err := startPinServer(first, serverOptions{link: link, proto: proto, cache: cache})
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	var orig []sample
	for range runs {
		s, err := runOriginal(ctx, srv, filepath.Join(work, "latency-original"))
		if err != nil {
			return nil, fmt.Errorf("the original pipeline: %w", err)
		}
		orig = append(orig, s)
	}
	rows := []latencyRow{{mode: latencyOriginal, paths: paths[0], sample: median(orig)}}
	for _, mode := range latencyModes {
		samples := make([][]sample, len(latencyCases))
		for r := range runs {
			got, err := latencyRound(ctx, bin, mode, srv, [][]cachix.Pin{first, moved, moved}, paths, filepath.Join(work, fmt.Sprintf("latency-%s-%d", mode, r)), trace)
			if err != nil {
				return nil, fmt.Errorf("%s mode: %w", mode, err)
			}
			for i, s := range got {
				samples[i] = append(samples[i], s)
			}
		}
		for i, s := range samples {
			rows = append(rows, latencyRow{mode: mode, publish: latencyCases[i], paths: paths[i], sample: median(s)})
		}
	}
	return rows, nil
}

// latencyRound publishes each of lists in mode, in dir, with verification
// on, as CI would: pages mode into a new --out each time (a new runner),
// the live site serving the last publish's; branch mode to a new fake
// GitHub repository, from a new --out each time; dir mode into the same
// --out.
func latencyRound(ctx context.Context, bin, mode string, srv *pinServer, lists [][]cachix.Pin, paths []int, dir string, trace io.Writer) ([]sample, error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	srv.site.Store(nil)
	var gh *github
	if mode == "branch" {
		var err error
		if gh, err = startGitHub(filepath.Join(dir, "github"), srv); err != nil {
			return nil, err
		}
		defer gh.Close()
	}
	var out []sample
	for i, raw := range lists {
		if err := srv.setPins(raw); err != nil {
			return nil, err
		}
		site := filepath.Join(dir, "out")
		if mode != "dir" {
			site = filepath.Join(dir, fmt.Sprintf("out-%d", i))
		}
		args := []string{"--cache", cacheName, "--cachix-url", srv.url, "--out", site, "--mode", mode,
			"--pages-url", srv.siteURL, "--upstream", "none", "--verify", "fail"}
		if mode == "branch" {
			args = append(args, "--repo", "bench/pins", "--github-api-url", gh.apiURL())
		}
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = srv.clientEnv()
		if gh != nil {
			cmd.Env = append(cmd.Env, "GITHUB_TOKEN="+gh.Token)
		}
		s, err := runMeasured(ctx, srv.counts, cmd)
		if err == nil {
			// Not that every narinfo was read: a publish may know some
			// closures already, which is what this scenario is to show.
			err = checkVerified(site, s, "fail", len(raw), 0)
		}
		if err == nil && mode == "pages" && i > 0 && s.served.byKind[kindSite] == 0 {
			err = fmt.Errorf("the publish read nothing from the live site")
		}
		if err == nil && gh != nil {
			if errs := gh.InternalErrors(); len(errs) > 0 {
				err = fmt.Errorf("fake GitHub failed: %v", errs)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", latencyCases[i], err)
		}
		if trace != nil {
			fmt.Fprintf(trace, "\n# %d pins, RTT %s, %s mode, %s: %s wall, %d connections\n\n", len(raw), ms(srv.link.RTT), mode, latencyCases[i], ms(s.wall), s.served.conns)
			s.timeline.write(trace)
		}
		if mode == "pages" {
			srv.publishSite(site)
		}
		out = append(out, s)
	}
	if gh != nil {
		if err := checkBranchCommits(gh); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// latencyReport is what the Latency section shows.
type latencyReport struct {
	rows    []latencyRow
	link    netem.Link // RTT aside
	proto   string     // what the servers speak (-latency-proto)
	runs    int
	skipped bool
}

func (l latencyReport) write(w io.Writer) {
	fmt.Fprintln(w, "## "+latencyTitle)
	fmt.Fprintln(w)
	if l.skipped {
		fmt.Fprint(w, "Not measured in this run (`-latency-n ''`).\n\n")
		return
	}
	bw := "unlimited"
	if l.link.Bandwidth > 0 {
		bw = l.link.Bandwidth.String()
	}
	fmt.Fprintf(w, "In CI the time goes to round trips, not to the CPU: a runner is 10–150 ms from Cachix, cache.nixos.org and GitHub. "+
		"Every loopback server here (the Cachix API, the binary cache, the live site, GitHub) is a host of its own behind `test/netem`, "+
		"which makes each exchange cost the RTT and each new connection %d round trips more before its first request (TCP and TLS 1.3, `-handshakes`); "+
		"bandwidth %s (`-bandwidth`). %s Pins and cache as in \"Producer with verification\" (`bench/closures`), published as whole processes of the "+
		"CLI with verification on (`--verify fail --upstream none`, `--concurrency` default): the first publish, a publish with 1 %% of the pins "+
		"(at least one) moved to other store paths the cache holds with their closures, then the same pins again. Pages mode writes a new "+
		"`--out` each time, as a new runner does, and reads the earlier bundles from the live site, which serves the last publish's site; "+
		"branch mode publishes to a new `test/fakegithub` repository; dir mode writes into the same `--out`. The original pipeline "+
		"(`curl | jq > pins.nix; tar czf`) reads the same pins from the same server. Requests by kind as the servers counted them; "+
		"connections are those the servers accepted, each a handshake. %s.\n\n", max(l.link.Handshakes, 1), bw, protoText(l.proto), runsText(l.runs))
	fmt.Fprintln(w, "| pins | RTT | mode | publish | wall | ÷ original's | CPU | cache info + pins | narinfo (closure paths) | live site | GitHub API | connections |")
	fmt.Fprintln(w, "|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---|---:|")
	var orig latencyRow
	for _, r := range l.rows {
		mode, publish, ratio := r.mode, r.publish, ""
		if r.mode == latencyOriginal {
			orig = r
			mode, publish = `original: curl \| jq; tar czf`, "any"
		} else if orig.wall > 0 {
			ratio = fmt.Sprintf("%.1f×", float64(r.wall)/float64(orig.wall))
		}
		k := r.served.byKind
		narinfos := fmt.Sprintf("%s (%s)", count(int(k[kindNarinfo])), count(r.paths))
		if r.mode == latencyOriginal {
			narinfos = "0"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %d + %d | %s | %d | %s | %d |\n", count(r.pins), ms(r.rtt), mode, publish,
			ms(r.wall), ratio, ms(r.cpu), k[kindInfo], k[kindPins], narinfos, k[kindSite],
			githubCalls(k), r.served.conns)
	}
	fmt.Fprintln(w)
}

// protoText says what the servers speak.
func protoText(proto string) string {
	switch proto {
	case protoH2:
		return "The servers speak HTTPS and offer HTTP/2, as GitHub's and the caches' do (`-latency-proto h2`): " +
			"the TLS handshake is real, the CLI trusting their certificate, netem charging TCP's round trip."
	case protoH1:
		return "The servers speak HTTPS, HTTP/1.1 only (`-latency-proto h1`): the TLS handshake is real, netem charging TCP's round trip."
	}
	return "The servers speak cleartext HTTP/1.1 (`-latency-proto http`), netem charging the TLS handshake's round trip too."
}

func runsText(runs int) string {
	if runs == 1 {
		return "One run each (`-latency-runs`)"
	}
	return fmt.Sprintf("Median of %d runs each (`-latency-runs`)", runs)
}

// githubCalls shows the GitHub API requests as "7: GET ref 2, POST blob 3, …"
// in a fixed order, or "" when there were none.
func githubCalls(byKind map[string]int64) string {
	var kinds []string
	var total int64
	for k, v := range byKind {
		if strings.HasPrefix(k, "GitHub ") {
			kinds = append(kinds, k)
			total += v
		}
	}
	if total == 0 {
		return ""
	}
	order := func(k string) string {
		method, what, _ := strings.Cut(strings.TrimPrefix(k, "GitHub "), " ")
		i := slices.Index([]string{"GET", "POST", "PATCH", "DELETE"}, method)
		return fmt.Sprintf("%d %s", i+1, what)
	}
	slices.SortFunc(kinds, func(a, b string) int { return strings.Compare(order(a), order(b)) })
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%s %d", strings.TrimPrefix(k, "GitHub "), byKind[k])
	}
	return fmt.Sprintf("%d: %s", total, strings.Join(parts, ", "))
}

// latencyTitle is the Latency section's heading.
const latencyTitle = "Latency"

// latencyNote starts the header line that names the command that rewrote
// the Latency section alone.
var latencyNote = rewrittenNote(latencyTitle)

// rewrittenNote starts the header line that names the command that rewrote
// the section titled title alone.
func rewrittenNote(title string) string { return "The " + title + " section was rewritten alone by " }

// rewriteSection puts the section titled title, as write writes it, into
// the report at path in place of the one there, and says so under the line
// naming the command that wrote the rest.
func rewriteSection(path, title string, r *report, write func(io.Writer)) error {
	old, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("-only rewrites a report written by go run ./bench: %w", err)
	}
	var section strings.Builder
	write(&section)
	note := fmt.Sprintf("%s`%s` (never by hand) on %s, in %s; load average (1, 5, 15 min) at its start: %s; at its end: %s.",
		rewrittenNote(title), r.command, r.started.UTC().Format("2006-01-02 15:04 MST"), r.finished.Sub(r.started).Round(time.Second), r.loadStart, r.loadEnd)
	doc, err := replaceSection(string(old), title, section.String(), note)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, []byte(doc), 0o644)
}

// replaceSection returns doc, a report, with section in place of its
// section titled title (before Consumer when it has none) and note as the
// paragraph after the one naming the command that wrote it.
func replaceSection(doc, title, section, note string) (string, error) {
	const written = "\n\nWritten by `go run ./bench"
	if !strings.HasPrefix(doc, "# Benchmarks"+written) {
		return "", fmt.Errorf("not a report written by go run ./bench (it starts %q)", doc[:min(len(doc), 40)])
	}
	if i := strings.Index(doc, "\n"+rewrittenNote(title)); i >= 0 {
		end := i + 1 + strings.Index(doc[i+1:], "\n")
		doc = doc[:i+1] + note + doc[end:]
	} else {
		after := strings.Index(doc, written) + 2
		end := after + strings.Index(doc[after:], "\n")
		doc = doc[:end] + "\n\n" + note + doc[end:]
	}
	if i := strings.Index(doc, "\n## "+title+"\n"); i >= 0 {
		end := len(doc)
		if j := strings.Index(doc[i+1:], "\n## "); j >= 0 {
			end = i + 1 + j + 1
		}
		return doc[:i+1] + section + doc[end:], nil
	}
	if i := strings.Index(doc, "\n## Consumer\n"); i >= 0 {
		return doc[:i+1] + section + doc[i+1:], nil
	}
	return strings.TrimRight(doc, "\n") + "\n\n" + section, nil
}
