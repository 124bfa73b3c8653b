package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kwbauson/create-pin-refs/bench/pinset"
	"github.com/kwbauson/create-pin-refs/pkg/bundle"
	"github.com/kwbauson/create-pin-refs/pkg/pins"
	"github.com/kwbauson/create-pin-refs/test/netem"
)

// artifactBudget is the Pages artifact size the project aims to stay under.
const artifactBudget = 64 << 20

// report is everything BENCHMARKS.md shows.
type report struct {
	command            string
	started, finished  time.Time
	loadStart, loadEnd string
	producers          []producerRow
	verified           []verifiedRow
	verifySkipped      bool
	perPin             []perPinRow
	branch             []branchRow
	branchRuns         int
	consumer           string // evalcost's tables, or why they are missing
	link               netem.Link
	latency            latencyReport
	s3                 []s3Row
	s3Skipped          string // why the S3 section was not measured
}

// perPinRow is the one-name bundles (URL/p/NAME and URL/p/NAME.tar.gz) of
// the pages-mode run at one pin count: as built, or, when --per-pin-urls auto
// left them out, what they would have added.
type perPinRow struct {
	pins, names int
	built       bool
	tree        perPinTree // as built, or as estimated
	artifact    int64      // the artifact as written
}

// measurePerPin reads the pages-mode run's p/ tree; when there is none, it
// packs every name's bundle with the real renderer and packer, as the run
// would have, and adds up the two files of each with their tar headers.
func measurePerPin(p producerRow) (perPinRow, error) {
	set, err := pins.Build(pinset.Synthetic(p.pins), pins.Options{})
	if err != nil {
		return perPinRow{}, err
	}
	ones, err := bundle.RenderOnes(set, bundle.Meta{Cache: cacheName, Substituter: "https://bench.cachix.org"})
	if err != nil {
		return perPinRow{}, err
	}
	row := perPinRow{pins: p.pins, names: len(ones), built: p.perPin.files > 0, tree: p.perPin, artifact: p.artifact}
	if row.built || len(ones) == 0 {
		return row, nil
	}
	packer, err := bundle.NewOnesPacker(ones[0].Bundle)
	if err != nil {
		return perPinRow{}, err
	}
	sizes := make([]int64, 0, len(ones))
	row.tree.tarCost = 512
	for _, o := range ones {
		tgz, err := packer.Pack(o.Bundle)
		if err != nil {
			return perPinRow{}, err
		}
		n := int64(len(tgz))
		sizes = append(sizes, n)
		row.tree.files += 2
		row.tree.bytes += 2 * n
		row.tree.tarCost += 2 * (512 + (n+511)/512*512)
	}
	slices.Sort(sizes)
	row.tree.tarball = sizes[len(sizes)/2]
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
	if r.link.RTT > 0 || r.link.Bandwidth > 0 {
		fmt.Fprintf(w, "Every loopback server is behind `test/netem` (`-rtt`, `-bandwidth`, `-handshakes`): %s; the Latency section sets its own RTTs.\n\n", r.link)
	}

	fmt.Fprintln(w, "## Producer")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Whole processes against a loopback Cachix stand-in serving the same synthetic pins "+
		"(`bench/pinset`: 4 pins per 3 names, 2 systems plus system-less pins): create-pin-refs "+
		"(`--cache`, so it also reads the cache's description; `--verify off`, reading no narinfo; `--pages-url` on the same server, where it finds no earlier bundles to keep, as on a first publish) and the original pipeline, "+
		"`curl | jq > pins.nix; tar czf` (checked to write `pinset.OriginalFiles`' bytes), in turn, "+
		"median of the runs. CPU is user + system time of the process and its children; peak RSS "+
		"is the largest process's, as GNU time reports it (the kernel would charge a process the bench starts "+
		"itself with the bench's own peak). `dir:all-pins` is `--mode dir --per-pin-urls off`, the all-pins bundle alone, "+
		"which is what the original makes; `dir` and `pages` also write the one-name bundles where they fit the artifact budget "+
		"(`--per-pin-urls auto`, two files a name).")
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
	writeFloors(w, r.producers)
	writeVerified(w, r.verified, r.verifySkipped)

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

	r.writeTarball(w)

	fmt.Fprintln(w, "## Per-pin URLs")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "The one-name bundles (`URL/p/NAME` and `URL/p/NAME.tar.gz`, the same bytes) of the pages-mode runs above, "+
		"read from the site as written. `--per-pin-urls auto` builds them when the artifact stays within %s; where it did not, "+
		"the row shows what they would have added: every name packed by the real renderer and packer, two files each with their tar headers.\n\n", mib(artifactBudget))
	fmt.Fprintln(w, "| pins | names | built | files | bytes | one name's .tar.gz (median) | artifact without them | with them |")
	fmt.Fprintln(w, "|---:|---:|---|---:|---:|---:|---:|---:|")
	for _, p := range r.perPin {
		built, without, with := "yes", p.artifact-p.tree.tarCost, p.artifact
		if !p.built {
			built, without, with = "no: over the budget", p.artifact, p.artifact+p.tree.tarCost
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s B | %s | %s |\n", count(p.pins), count(p.names), built, count(p.tree.files),
			mib(p.tree.bytes), strconv.FormatInt(p.tree.tarball, 10), mib(without), mib(with))
	}
	fmt.Fprintln(w)

	r.writeBranch(w)
	r.latency.write(w)
	writeS3(w, r.s3, r.s3Skipped)

	fmt.Fprintln(w, "## Consumer")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "`go run ./bench/evalcost`: what forcing one pin costs with real Nix, both installations, next to the original format.")
	fmt.Fprintln(w)
	fmt.Fprint(w, r.consumer)
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
