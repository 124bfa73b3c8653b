package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestReport runs the whole benchmark at a tiny size and checks that the report
// holds a measured row for each tool and mode, the site sizes and the per-pin
// bundles built (the original pipeline's output is checked against pinset by run).
func TestReport(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the program and runs it")
	}
	for _, tool := range []string{"curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the original pipeline needs %s", tool)
		}
	}
	out := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	if err := os.Chdir(".."); err != nil { // run builds the program in the current folder
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chdir("bench") })
	o := options{sizes: "8", modes: "dir:all-pins,dir,pages", out: out, runs: 1, branchRuns: 1, handshakes: 2, latencyRuns: 1}
	if err := run(context.Background(), o, nil); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	report := string(data)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^\| 8 \| original \| curl \\\| jq; tar czf \| \d+ ms \| \d+ ms \| [\d.]+ MiB \| 1 \| \d+ KiB \|  \|$`),
		regexp.MustCompile(`(?m)^\| 8 \| create-pin-refs \| dir \| \d+ ms \| \d+ ms \| [\d.]+ MiB \| 2 \| \d+ KiB \| [\d.]+×, [\d.]+× \|$`),
		regexp.MustCompile(`(?m)^\| 8 \| create-pin-refs \| pages \| .* \| 3 \| `),
		regexp.MustCompile(`(?m)^\| 8 \| 1\d KiB \| \d+ KiB \| \d+ KiB \| \d+ KiB \(\d+ KiB\) \| [\d.]+ MiB \| not measured \|$`),
		regexp.MustCompile(`(?m)^\| 8 \| 6 \| yes \| 12 \| [\d.]+ MiB \| \d+ B \| [\d.]+ MiB \| [\d.]+ MiB \|$`),
		// What bounds the all-pins run, down to first touching its memory.
		regexp.MustCompile(`(?m)^\| 8 \| \d+ ms \| \d+ ms \| \d+ ms \| reading pins \d+ ms, rendering the bundle \d+ ms \| \d+ files, [\d.]+ MiB: \d+ ms \| \d+ ms \| \d+ ms \| \d+ MiB: \d+ ms \|$`),
		// Branch mode: a first publish and an update write, an unchanged publish sends nothing.
		regexp.MustCompile(`(?m)^\| 8 \| first publish \| \d+ \(GET \d+, POST \d+\) \| [1-9][\d.]* (?:B|KiB|MiB) \| \d+ B \| \d+ ms \| \d+ ms \| \d+ ms \| [\d.]+ MiB \|$`),
		regexp.MustCompile(`(?m)^\| 8 \| update \| \d+ \(GET \d+, POST \d+, PATCH 1\) \| [1-9][\d.]* (?:B|KiB|MiB) \| `),
		regexp.MustCompile(`(?m)^\| 8 \| unchanged \| \d+ \(GET \d+\) \| 0 B \| `),
		regexp.MustCompile(`Not measured in this run`),
		// The pages run's tarball, split into its parts.
		regexp.MustCompile(`(?m)^\| 8 \| pages \| [\d.]+ KiB \([\d.]+ KiB\) \| [\d.]+ KiB \([\d.]+ KiB\) \| [\d.]+ KiB \([\d.]+ KiB\) \| .*\| [\d.]+ KiB \([\d.]+ KiB\) \| [\d.]+ KiB \| [\d.]+ KiB \| [\d.]+ \|$`),
	} {
		if !want.MatchString(report) {
			t.Errorf("report lacks %s:\n%s", want, report)
		}
	}
	if strings.Contains(report, "| 0 ms |") {
		t.Errorf("a time was not measured:\n%s", report)
	}
}

// TestWriteFloors: the floor table shows each all-pins run beside the
// original's time and its tenth, and nothing when no floor was measured.
func TestWriteFloors(t *testing.T) {
	rows := []producerRow{
		{tool: "original", pins: 10000, sample: sample{wall: 400 * time.Millisecond}},
		{tool: "create-pin-refs", mode: "dir:all-pins", pins: 10000, sample: sample{wall: 100 * time.Millisecond, phases: readPhases("== Reading pins\nReading pins took 40ms\nRendering the bundle took 45ms\n")},
			floor: floor{startup: 8 * time.Millisecond, write: 30 * time.Millisecond, files: 92, bytes: 5 << 20, touch: 50 * time.Millisecond, touchKiB: 24 << 10}},
		{tool: "create-pin-refs", mode: "dir", pins: 10000, sample: sample{wall: 900 * time.Millisecond}},
	}
	var b strings.Builder
	writeFloors(&b, rows)
	want := "| 10,000 | 400 ms | 40 ms | 100 ms | reading pins 40 ms, rendering the bundle 45 ms | 92 files, 5.0 MiB: 30 ms | 8 ms | 38 ms | 24 MiB: 50 ms |"
	if !strings.Contains(b.String(), want) {
		t.Errorf("floor table lacks %q:\n%s", want, b.String())
	}
	if strings.Count(b.String(), "\n| 10,000") != 1 {
		t.Errorf("one row expected:\n%s", b.String())
	}
	b.Reset()
	writeFloors(&b, rows[:1])
	if b.Len() != 0 {
		t.Errorf("no floor measured, yet:\n%s", b.String())
	}
}
