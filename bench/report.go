package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/kwbauson/create-pin-refs/bench/pinset"
	"github.com/kwbauson/create-pin-refs/pkg/bundle"
	"github.com/kwbauson/create-pin-refs/pkg/pins"
)

// artifactBudget is the Pages artifact size the project aims to stay under.
const artifactBudget = 64 << 20

// report is everything BENCHMARKS.md shows.
type report struct {
	command            string
	started, finished  time.Time
	loadStart, loadEnd string
	producers          []producerRow
	perPin             []perPinRow
	branch             []branchRow
	branchRuns         int
	consumer           string // evalcost's tables, or why they are missing
}

// perPinRow is the measured cost of publishing one tiny bundle per name
// (URL/p/NAME and URL/p/NAME.tar.gz) at one pin count.
type perPinRow struct {
	pins, names  int
	tarball, all int64 // one name's tarball; every name's, both names
	baseArtifact int64 // the artifact without them
	fitsInBudget bool
}

// measurePerPin renders the one-name bundle of every name of n synthetic pins
// and adds up what URL/p/NAME and URL/p/NAME.tar.gz would weigh in the
// artifact (two copies and two tar headers each).
func measurePerPin(n int, baseArtifact int64) (perPinRow, error) {
	set, err := pins.Build(pinset.Synthetic(n), pins.Options{})
	if err != nil {
		return perPinRow{}, err
	}
	row := perPinRow{pins: n, baseArtifact: baseArtifact}
	for i := 0; i < len(set.Pins); {
		j := i + 1
		for j < len(set.Pins) && set.Pins[j].Name == set.Pins[i].Name {
			j++
		}
		b, err := bundle.Render(&pins.Set{Pins: set.Pins[i:j]}, bundle.Meta{Cache: cacheName, Substituter: "https://bench.cachix.org"})
		if err != nil {
			return perPinRow{}, err
		}
		tgz, err := b.Tarball()
		if err != nil {
			return perPinRow{}, err
		}
		row.names++
		row.all += 2 * (int64(len(tgz)+511)/512*512 + 512)
		row.tarball = int64(len(tgz))
		i = j
	}
	row.fitsInBudget = baseArtifact+row.all <= artifactBudget
	return row, nil
}

// consumerTables runs bench/evalcost and returns its Markdown.
func consumerTables(ctx context.Context, sizes string, runs int) string {
	if sizes == "" {
		return "Not measured in this run (`-evalcost-n ''`).\n"
	}
	cmd := exec.CommandContext(ctx, "go", "run", "./bench/evalcost", "-n", sizes, "-runs", fmt.Sprint(runs))
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Sprintf("Not measured: `go run ./bench/evalcost` failed (%v); it needs Nix (test/nix/setup.sh).\n", err)
	}
	return out.String()
}

func (r *report) write(w io.Writer) {
	fmt.Fprintf(w, "# Benchmarks\n\nWritten by `%s` (never by hand) on %s, in %s.\n\n",
		r.command, r.started.UTC().Format("2006-01-02 15:04 MST"), r.finished.Sub(r.started).Round(time.Second))
	fmt.Fprintf(w, "Machine: %s, %d cores, %s, %s. Load average (1, 5, 15 min) at the start: %s; at the end: %s. "+
		"Wall times on a loaded machine mostly measure the wait for a core: compare CPU times there.\n\n",
		cpuModel(), runtime.NumCPU(), memTotal(), runtime.Version(), r.loadStart, r.loadEnd)

	fmt.Fprintln(w, "## Producer")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Whole processes against a loopback Cachix stand-in serving the same synthetic pins "+
		"(`bench/pinset`: 4 pins per 3 names, 2 systems plus system-less pins): create-pin-refs "+
		"(`--cache`, so it also reads the cache's description; `--verify off`, reading no narinfo; `--pages-url` on the same server, where it finds no earlier bundles to keep, as on a first publish) and the original pipeline, "+
		"`curl | jq > pins.nix; tar czf` (checked to write `pinset.OriginalFiles`' bytes), in turn, "+
		"median of the runs. CPU is user + system time of the process and its children; peak RSS "+
		"is the largest process's, as GNU time reports it (the kernel would charge a process the bench starts "+
		"itself with the bench's own peak).")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| pins | tool | mode | wall | CPU | peak RSS | HTTP requests | .tar.gz | faster than the original (wall, CPU) |")
	fmt.Fprintln(w, "|---:|---|---|---:|---:|---:|---:|---:|---:|")
	var orig producerRow
	for _, p := range r.producers {
		ratio := ""
		if p.tool == "original" {
			orig = p
		} else if p.wall > 0 && p.cpu > 0 {
			ratio = fmt.Sprintf("%.1f×, %.1f×", float64(orig.wall)/float64(p.wall), float64(orig.cpu)/float64(p.cpu))
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %.1f MiB | %d | %s | %s |\n", count(p.pins), p.tool,
			strings.ReplaceAll(p.mode, "|", `\|`), ms(p.wall), ms(p.cpu), float64(p.rssKiB)/1024, p.requests, kib(p.tarball), ratio)
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "## Site and page")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Pages mode. The index page loads `names.json` (every name once, in the bundle's order, with its "+
		"systems: an array, which a browser parses many times faster than the bundle's indexes, objects keyed by name) "+
		"and one shard of the bundle per chosen pin; it renders at most 200 names. Load time: headless Chromium opening the page over loopback until the finder "+
		"lists every name (median, fresh browser each time). Budget for the artifact: %d MiB.\n\n", artifactBudget>>20)
	fmt.Fprintln(w, "| pins | index.html | data the page loads | pins.json | .tar.gz (original's) | Pages artifact | page load |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|")
	for _, p := range r.producers {
		if p.mode != "pages" {
			continue
		}
		load := "not measured"
		if p.pageLoad > 0 {
			load = ms(p.pageLoad)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s (%s) | %s | %s |\n", count(p.pins), kib(p.index), kib(p.pageData),
			kib(p.manifest), kib(p.tarball), kib(r.original(p.pins).tarball), mib(p.artifact), load)
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "## Per-pin URLs")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "What one tiny bundle per name (`URL/p/NAME` and `URL/p/NAME.tar.gz`) would add to the Pages "+
		"artifact: every name's one-name bundle rendered and packed by the real renderer, two copies each "+
		"with their tar headers.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| pins | names | one name's .tar.gz | all of them, twice | artifact without them | with them | fits the budget |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---|")
	for _, p := range r.perPin {
		fits := "no"
		if p.fitsInBudget {
			fits = "yes"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", count(p.pins), count(p.names), kib(p.tarball),
			mib(p.all), mib(p.baseArtifact), mib(p.baseArtifact+p.all), fits)
	}
	fmt.Fprintln(w)

	r.writeBranch(w)

	fmt.Fprintln(w, "## Consumer")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "`go run ./bench/evalcost`: what forcing one pin costs with real Nix, both installations, next to the original format.")
	fmt.Fprintln(w)
	fmt.Fprint(w, r.consumer)
}

// artifact is the Pages artifact's size at n pins.
func (r *report) artifact(n int) int64 {
	for _, p := range r.producers {
		if p.mode == "pages" && p.pins == n {
			return p.artifact
		}
	}
	return 0
}

func (r *report) original(n int) producerRow {
	for _, p := range r.producers {
		if p.tool == "original" && p.pins == n {
			return p
		}
	}
	return producerRow{}
}

func count(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func cpuModel() string {
	data, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func memTotal() string {
	data, _ := os.ReadFile("/proc/meminfo")
	var kb int64
	fmt.Sscanf(strings.TrimPrefix(strings.SplitN(string(data), "\n", 2)[0], "MemTotal:"), "%d", &kb)
	return fmt.Sprintf("%.0f GiB RAM", float64(kb)/(1<<20))
}

func loadAverage() string {
	data, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], ", ")
}
