// Command bench measures create-pin-refs next to the original pipeline (`curl |
// jq > pins.nix; tar czf`) and writes BENCHMARKS.md:
//
//	go run ./bench [-n 1000,10000,100000] [-runs 5] [-o BENCHMARKS.md]
//
// Both tools run as whole processes against a loopback Cachix stand-in serving
// the same synthetic pins (bench/pinset), in turn, so that both meet the same
// machine; wall time, CPU time and peak RSS come from the kernel. -rtt and
// -bandwidth put every loopback server behind test/netem; the Latency
// section runs at the RTTs of -latency-rtt, and
//
//	go run ./bench -only latency -o BENCHMARKS.md
//
// rewrites that section alone; -only s3 the S3 publish section (-s3-n),
// which needs versitygw (test/s3server/install.sh).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kwbauson/create-pin-refs/test/chrome"
	"github.com/kwbauson/create-pin-refs/test/fakegithub"
	"github.com/kwbauson/create-pin-refs/test/netem"
)

func main() {
	var o options
	flag.StringVar(&o.sizes, "n", "1000,10000,100000", "comma-separated pin counts")
	flag.IntVar(&o.runs, "runs", 5, "timed runs per case, after one warm-up run")
	flag.StringVar(&o.modes, "modes", "dir:all-pins,dir,pages", "create-pin-refs modes to measure (MODE:all-pins adds --per-pin-urls off)")
	flag.StringVar(&o.out, "o", "", "write the report to this file (such as BENCHMARKS.md) instead of stdout")
	flag.IntVar(&o.pageRuns, "page-runs", 3, "times the index page is opened in Chromium per pin count (0: not at all)")
	flag.StringVar(&o.evalSizes, "evalcost-n", "1000,10000,100000", "pin counts for bench/evalcost (needs Nix); empty to skip")
	flag.IntVar(&o.evalRuns, "evalcost-runs", 7, "runs per case for bench/evalcost")
	flag.StringVar(&o.verifySizes, "verify-n", "1000,10000", "pin counts for the producer with verification on (bench/closures' pins and cache); empty to skip")
	flag.IntVar(&o.branchRuns, "branch-runs", 1, "rounds of branch publishes (first, update, unchanged) per pin count, each on a new repository (0: none)")
	flag.DurationVar(&o.rtt, "rtt", 0, "round-trip time every loopback server adds (Cachix, binary cache, live site, GitHub, the index page's server), e.g. 50ms")
	flag.Var(&o.bandwidth, "bandwidth", "bandwidth of each loopback server, each way (e.g. 100Mbit, 12.5MB/s; 0: unlimited), the Latency section's too")
	flag.IntVar(&o.handshakes, "handshakes", 2, "round trips a new connection costs before its first request (2: TCP and TLS 1.3, as HTTPS; 1: TCP)")
	flag.StringVar(&o.latencySizes, "latency-n", "100,1000", "pin counts for the Latency section (pages, branch and dir publishes at each -latency-rtt); empty to skip")
	flag.StringVar(&o.latencyRTTs, "latency-rtt", "0,50ms", "round-trip times for the Latency section")
	flag.IntVar(&o.latencyRuns, "latency-runs", 1, "runs of each publish in the Latency section (the median)")
	flag.StringVar(&o.latencyProto, "latency-proto", protoH2, "what the Latency section's servers speak: h2 (HTTPS offering HTTP/2, as GitHub's and the caches' do), h1 (HTTPS, HTTP/1.1 only) or http (cleartext HTTP/1.1, TLS's round trip charged by netem)")
	flag.StringVar(&o.timeline, "timeline", "", "write each Latency publish's timeline to this file: its log lines and its requests by kind, when they were sent and answered, how many in flight")
	flag.StringVar(&o.s3Sizes, "s3-n", "1000,10000,100000", "pin counts for the S3 publish section (needs versitygw, test/s3server/install.sh); empty to skip")
	flag.StringVar(&o.only, "only", "", "latency or s3: measure only the Latency or the S3 publish section and rewrite it in the -o file, leaving the rest")
	flag.Parse()
	if err := run(context.Background(), o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type options struct {
	sizes, modes, out, evalSizes string
	verifySizes                  string
	runs, pageRuns, evalRuns     int
	branchRuns                   int
	rtt                          time.Duration
	bandwidth                    netem.Bandwidth
	handshakes                   int
	latencySizes, latencyRTTs    string
	latencyRuns                  int
	latencyProto                 string
	only                         string
	s3Sizes                      string
	timeline                     string
}

// -only's values: the sections measured alone.
const (
	onlyLatency = "latency"
	onlyS3      = "s3"
)

// link is the path every loopback server is behind, as the flags say.
func (o options) link() netem.Link {
	return netem.Link{RTT: o.rtt, Bandwidth: o.bandwidth, Handshakes: o.handshakes}
}

func run(ctx context.Context, o options, stdout io.Writer) error {
	sizes, err := parseSizes("-n", o.sizes)
	if err != nil {
		return err
	}
	if o.runs < 1 {
		return errors.New("-runs must be at least 1")
	}
	var verifySizes []int
	if o.verifySizes != "" {
		if verifySizes, err = parseSizes("-verify-n", o.verifySizes); err != nil {
			return err
		}
	}
	var latencySizes []int
	var latencyRTTs []time.Duration
	if o.latencySizes != "" {
		if latencySizes, err = parseSizes("-latency-n", o.latencySizes); err != nil {
			return err
		}
		if latencyRTTs, err = parseDurations("-latency-rtt", o.latencyRTTs); err != nil {
			return err
		}
	}
	var s3Sizes []int
	if o.s3Sizes != "" {
		if s3Sizes, err = parseSizes("-s3-n", o.s3Sizes); err != nil {
			return err
		}
	}
	if o.latencyProto == "" {
		o.latencyProto = protoH2
	}
	switch {
	case o.rtt < 0:
		return errors.New("-rtt must not be negative")
	case o.handshakes < 1:
		return errors.New("-handshakes must be at least 1 (TCP's)")
	case o.latencyRuns < 1:
		return errors.New("-latency-runs must be at least 1")
	case o.latencyProto != protoH2 && o.latencyProto != protoH1 && o.latencyProto != protoHTTP:
		return fmt.Errorf("-latency-proto %q: want h2, h1 or http", o.latencyProto)
	case o.only != "" && o.only != onlyLatency && o.only != onlyS3:
		return fmt.Errorf("-only %q: the sections measured alone are %q and %q", o.only, onlyLatency, onlyS3)
	case o.only == onlyLatency && (o.out == "" || len(latencySizes) == 0):
		return errors.New("-only latency rewrites the Latency section of the -o file: give -o (such as BENCHMARKS.md) and -latency-n")
	case o.only == onlyS3 && (o.out == "" || len(s3Sizes) == 0):
		return errors.New("-only s3 rewrites the S3 publish section of the -o file: give -o (such as BENCHMARKS.md) and -s3-n")
	}
	for _, tool := range []string{"curl", "jq", "tar", "gzip", "time", "dd"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("the original pipeline needs %s: %w", tool, err)
		}
	}
	work, err := os.MkdirTemp("", "cpr-bench-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(work, "create-pin-refs")
	// Built as the Dockerfile builds the action's binary: static and
	// stripped, which starts 5 ms sooner than a default build here.
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building create-pin-refs: %w", err)
	}
	if o.pageRuns > 0 {
		if _, err := chrome.Path(); err != nil {
			fmt.Fprintf(os.Stderr, "bench: not measuring the index page: %v\n", err)
			o.pageRuns = 0
		}
	}
	r := &report{command: "go run ./bench " + strings.Join(os.Args[1:], " "), started: time.Now(), loadStart: loadAverage(), link: o.link()}
	measureLatencySection := func() error {
		lat := latencyReport{link: o.link(), proto: o.latencyProto, runs: o.latencyRuns, skipped: len(latencySizes) == 0}
		if !lat.skipped {
			if !fakegithub.HaveGit() {
				return errors.New("the latency benchmark's branch mode needs git (or -latency-n '')")
			}
			var trace io.Writer
			if o.timeline != "" {
				f, err := os.Create(o.timeline)
				if err != nil {
					return err
				}
				defer f.Close()
				trace = f
			}
			if lat.rows, err = measureLatency(ctx, bin, latencySizes, latencyRTTs, o.latencyRuns, o.link(), o.latencyProto, work, trace); err != nil {
				return fmt.Errorf("latency: %w", err)
			}
		}
		r.latency = lat
		return nil
	}
	measureS3Section := func() error {
		if len(s3Sizes) == 0 {
			r.s3Skipped = "`-s3-n ''`"
			return nil
		}
		rows, err := measureS3(ctx, bin, s3Sizes, work)
		if errors.Is(err, errNoVersitygw) {
			fmt.Fprintf(os.Stderr, "bench: not measuring the S3 publish section: %v\n", err)
			r.s3Skipped = "versitygw is not installed: `bash test/s3server/install.sh`"
			return nil
		}
		r.s3 = rows
		return err
	}
	if o.only == onlyS3 {
		if err := measureS3Section(); err != nil {
			return err
		}
		r.finished, r.loadEnd = time.Now(), loadAverage()
		return rewriteSection(o.out, s3Title, r, func(w io.Writer) { writeS3(w, r.s3, r.s3Skipped) })
	}
	if o.only == onlyLatency {
		if err := measureLatencySection(); err != nil {
			return err
		}
		r.finished, r.loadEnd = time.Now(), loadAverage()
		return rewriteSection(o.out, latencyTitle, r, r.latency.write)
	}
	if r.producers, err = measureProducers(ctx, bin, sizes, strings.Split(o.modes, ","), o.runs, work, o.pageRuns, r.link); err != nil {
		return err
	}
	for _, p := range r.producers {
		if p.tool == "create-pin-refs" && p.mode == "pages" {
			pp, err := measurePerPin(p)
			if err != nil {
				return err
			}
			r.perPin = append(r.perPin, pp)
		}
	}
	r.verifySkipped = len(verifySizes) == 0
	if r.verified, err = measureVerified(ctx, bin, verifySizes, o.runs, work, r.link); err != nil {
		return err
	}
	if o.branchRuns > 0 {
		if !fakegithub.HaveGit() {
			return errors.New("the branch publish benchmark needs git (or -branch-runs 0)")
		}
		r.branchRuns = o.branchRuns
		if r.branch, err = measureBranch(ctx, bin, sizes, o.branchRuns, work, r.link); err != nil {
			return err
		}
	}
	if err := measureLatencySection(); err != nil {
		return err
	}
	if err := measureS3Section(); err != nil {
		return err
	}
	r.consumer = consumerTables(ctx, o.evalSizes, o.evalRuns)
	r.finished, r.loadEnd = time.Now(), loadAverage()
	w := stdout
	if o.out != "" {
		f, err := os.Create(o.out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	r.write(w)
	return nil
}

func parseSizes(flagName, s string) ([]int, error) {
	var sizes []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%s: %q is not a positive count", flagName, f)
		}
		sizes = append(sizes, n)
	}
	return sizes, nil
}

func parseDurations(flagName, s string) ([]time.Duration, error) {
	var out []time.Duration
	for _, f := range strings.Split(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(f))
		if err != nil || d < 0 {
			return nil, fmt.Errorf("%s: %q is not a duration such as 0 or 50ms", flagName, f)
		}
		out = append(out, d)
	}
	return out, nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }
func kib(n int64) string        { return fmt.Sprintf("%.0f KiB", float64(n)/1024) }
