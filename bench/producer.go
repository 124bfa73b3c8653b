package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kwbauson/create-pin-refs/bench/pinset"
	"github.com/kwbauson/create-pin-refs/pkg/site"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
	"github.com/kwbauson/create-pin-refs/test/netem"
)

// originalJQ is the original pipeline's jq program: one line per pin, the name
// split on every dot (pinset.OriginalFiles writes the same bytes).
const originalJQ = `"{ storePath }:", "{", (.[] | "  " + (.name | split(".") | map(tojson) | join(".")) + " = storePath " + .lastRevision.storePath + ";"), "}"`

// allPinsOnly, after a mode and a colon, measures the all-pins bundle alone
// (--per-pin-urls off), what the original pipeline makes.
const allPinsOnly = "all-pins"

// phase is one log group of a run and the time it says it took.
type phase struct {
	name string
	took time.Duration
}

// readPhases reads the "TITLE took DURATION" lines a run logs at the end of
// each of its phases.
func readPhases(log string) []phase {
	var out []phase
	for line := range strings.Lines(log) {
		name, d, ok := strings.Cut(strings.TrimSpace(line), " took ")
		if !ok {
			continue
		}
		if took, err := time.ParseDuration(d); err == nil {
			out = append(out, phase{name, took})
		}
	}
	return out
}

// sample is one measured run of a whole process.
type sample struct {
	phases    []phase // of create-pin-refs runs
	wall, cpu time.Duration
	rssKiB    int64 // peak resident set of the largest process
	requests  int64
	narinfos  int64 // of the requests, those for narinfo files
	served    tally // the requests by kind, and the connections
	log       string
	timeline  timeline
}

// producerRow is the median of the runs of one tool at one size.
type producerRow struct {
	tool, mode string
	pins       int
	sample
	// Sizes of what the run wrote, in bytes: pageData is what the index page
	// loads to list every name (site.Finder).
	tarball, artifact, index, pageData, manifest int64
	// perPin is the one-name bundles the run built (site.OnesDir).
	perPin perPinTree
	// pageLoad is the time Chromium took to open the index page and load every
	// name; zero when not measured.
	pageLoad time.Duration
	// floor is measured for the all-pins-only run (allPinsOnly).
	floor floor
	// parts is what the run's .tar.gz is made of.
	parts tarParts
}

// measureProducers times create-pin-refs (each mode) and the original pipeline
// in turn on the same loopback server, runs times each, and returns the medians.
func measureProducers(ctx context.Context, bin string, sizes []int, modes []string, runs int, work string, pageRuns int, link netem.Link) ([]producerRow, error) {
	var rows []producerRow
	for _, n := range sizes {
		raw := pinset.Synthetic(n)
		srv, err := startPinServer(raw, serverOptions{link: link})
		if err != nil {
			return nil, err
		}
		origDir := filepath.Join(work, "original")
		jobs := []struct {
			tool, mode string
			run        func() (sample, error)
		}{{tool: "original", mode: "curl | jq; tar czf", run: func() (sample, error) {
			return runOriginal(ctx, srv, origDir)
		}}}
		for _, mode := range modes {
			out := filepath.Join(work, "site-"+mode)
			jobs = append(jobs, struct {
				tool, mode string
				run        func() (sample, error)
			}{tool: "create-pin-refs", mode: mode, run: func() (sample, error) {
				return runOurs(ctx, bin, srv, mode, out)
			}})
		}
		samples := make([][]sample, len(jobs))
		// Interleaved, so that a slow spell of the machine hits every tool alike;
		// one warm-up round first (page cache, loopback, binary).
		for r := 0; r <= runs; r++ {
			for j, job := range jobs {
				s, err := job.run()
				if err != nil {
					srv.Close()
					return nil, fmt.Errorf("%d pins, %s %s: %w", n, job.tool, job.mode, err)
				}
				if r > 0 {
					samples[j] = append(samples[j], s)
				}
			}
		}
		if err := checkOriginal(origDir, raw); err != nil {
			srv.Close()
			return nil, err
		}
		for j, job := range jobs {
			row := producerRow{tool: job.tool, mode: job.mode, pins: n, sample: median(samples[j])}
			if job.tool == "original" {
				row.tarball = fileSize(filepath.Join(origDir, "pins.tar.gz"))
			} else {
				out := filepath.Join(work, "site-"+job.mode)
				row.tarball = fileSize(filepath.Join(out, "pins.tar.gz"))
				if row.parts, err = readTarParts(filepath.Join(out, "pins.tar.gz")); err != nil {
					srv.Close()
					return nil, fmt.Errorf("%d pins, %s: %w", n, job.mode, err)
				}
				row.index = fileSize(filepath.Join(out, "index.html"))
				row.manifest = fileSize(filepath.Join(out, "pins.json"))
				row.pageData = fileSize(filepath.Join(out, site.Finder))
				row.artifact = fileSize(filepath.Join(out+"-artifact", "artifact.tar"))
				if row.perPin, err = readPerPinTree(filepath.Join(out, site.OnesDir)); err != nil {
					srv.Close()
					return nil, err
				}
				if _, variant, _ := strings.Cut(job.mode, ":"); variant == allPinsOnly {
					if row.floor, err = measureFloor(ctx, bin, out, row.rssKiB, max(runs, 1)); err != nil {
						srv.Close()
						return nil, fmt.Errorf("%d pins, floor: %w", n, err)
					}
				}
				if job.mode == "pages" && pageRuns > 0 {
					if row.pageLoad, err = pageLoad(ctx, out, pageRuns, link); err != nil {
						srv.Close()
						return nil, fmt.Errorf("%d pins, index page: %w", n, err)
					}
				}
			}
			rows = append(rows, row)
		}
		srv.Close()
	}
	return rows, nil
}

func runOurs(ctx context.Context, bin string, srv *pinServer, mode, out string) (sample, error) {
	if err := os.RemoveAll(out); err != nil {
		return sample{}, err
	}
	_ = os.RemoveAll(out + "-artifact")
	mode, variant, _ := strings.Cut(mode, ":")
	args := []string{"--cache", cacheName, "--cachix-url", srv.url, "--out", out, "--mode", mode, "--pages-url", srv.siteURL, "--verify", "off"}
	if variant == allPinsOnly {
		args = append(args, "--per-pin-urls", "off")
	}
	return runMeasured(ctx, srv.counts, exec.CommandContext(ctx, bin, args...))
}

func runOriginal(ctx context.Context, srv *pinServer, dir string) (sample, error) {
	if err := os.RemoveAll(dir); err != nil {
		return sample{}, err
	}
	if err := pinset.WriteOriginal(dir, nil); err != nil { // default.nix, as a checkout has it
		return sample{}, err
	}
	script := `curl -sSf "$1" | jq -r "$2" > pins.nix && tar czf pins.tar.gz default.nix pins.nix`
	cmd := exec.CommandContext(ctx, "sh", "-c", script, "sh", srv.pinsURL(), originalJQ)
	cmd.Dir = dir
	cmd.Env = srv.clientEnv()
	return runMeasured(ctx, srv.counts, cmd)
}

// runMeasured runs cmd with PATH, HOME and cmd.Env as its environment, and
// reads its wall time, from the kernel its CPU time, children included, from
// GNU time its peak RSS (the largest process's; see throughTime), and from
// counts what the loopback servers answered it.
func runMeasured(_ context.Context, counts *requestCounts, cmd *exec.Cmd) (sample, error) {
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir()}, cmd.Env...)
	name := cmd.Args[:min(3, len(cmd.Args))]
	rss, err := os.CreateTemp("", "cpr-bench-rss-*")
	if err != nil {
		return sample{}, err
	}
	rss.Close()
	defer os.Remove(rss.Name())
	if err := throughTime(cmd, rss.Name()); err != nil {
		return sample{}, err
	}
	var stderr stampedLog
	cmd.Stderr = &stderr
	before := counts.snapshot()
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return sample{}, fmt.Errorf("%v: %w\n%s", name, err, stderr.String())
	}
	kib, err := readPeakRSS(rss.Name())
	if err != nil {
		return sample{}, fmt.Errorf("%v: %w", name, err)
	}
	now := counts.snapshot()
	served := now.minus(before)
	counts.mu.Lock()
	tl := timeline{start: start, lines: stderr.lines, exchanges: slices.Clone(counts.exchanges[before.exchanges:now.exchanges])}
	counts.mu.Unlock()
	return sample{
		timeline: tl,
		wall:     wall,
		cpu:      cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(),
		rssKiB:   kib,
		requests: served.total(),
		narinfos: served.byKind[kindNarinfo],
		served:   served,
		phases:   readPhases(stderr.String()),
		log:      stderr.String(),
	}, nil
}

// checkOriginal makes sure the pipeline wrote what pinset.OriginalFiles models,
// so that the evaluation benchmarks measure the same files.
func checkOriginal(dir string, raw []cachix.Pin) error {
	got, err := os.ReadFile(filepath.Join(dir, "pins.nix"))
	if err != nil {
		return err
	}
	if want := pinset.OriginalFiles(raw)["pins.nix"]; !bytes.Equal(got, want) {
		return fmt.Errorf("the original pipeline's pins.nix (%d bytes) differs from pinset.OriginalFiles (%d bytes)", len(got), len(want))
	}
	return nil
}

func medianDuration(d []time.Duration) time.Duration {
	d = slices.Clone(d)
	slices.Sort(d)
	return d[len(d)/2]
}

func median(s []sample) sample {
	pick := func(f func(sample) int64) int64 {
		v := make([]int64, len(s))
		for i, x := range s {
			v[i] = f(x)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	m := sample{
		wall:     time.Duration(pick(func(x sample) int64 { return int64(x.wall) })),
		cpu:      time.Duration(pick(func(x sample) int64 { return int64(x.cpu) })),
		rssKiB:   pick(func(x sample) int64 { return x.rssKiB }),
		requests: pick(func(x sample) int64 { return x.requests }),
		narinfos: pick(func(x sample) int64 { return x.narinfos }),
		served:   tally{byKind: map[string]int64{}, conns: pick(func(x sample) int64 { return x.served.conns })},
	}
	for _, x := range s {
		for k := range x.served.byKind {
			m.served.byKind[k] = pick(func(x sample) int64 { return x.served.byKind[k] })
		}
	}
	for i, ph := range s[0].phases {
		m.phases = append(m.phases, phase{ph.name, time.Duration(pick(func(x sample) int64 {
			if i < len(x.phases) {
				return int64(x.phases[i].took)
			}
			return 0
		}))})
	}
	return m
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// perPinTree is what a site's folder of one-name bundles holds.
type perPinTree struct {
	files          int
	bytes, tarCost int64 // the files' bytes; what the folder costs in the artifact
	tarball        int64 // the median file's size
}

// readPerPinTree measures dir, which need not exist.
func readPerPinTree(dir string) (perPinTree, error) {
	var t perPinTree
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return t, nil
	}
	if err != nil {
		return t, err
	}
	var sizes []int64
	t.tarCost = 512
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			return t, err
		}
		sizes = append(sizes, info.Size())
		t.files++
		t.bytes += info.Size()
		t.tarCost += 512 + (info.Size()+511)/512*512
	}
	if len(sizes) > 0 {
		slices.Sort(sizes)
		t.tarball = sizes[len(sizes)/2]
	}
	return t, nil
}
