package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kwbauson/create-pin-refs/bench/closures"
	"github.com/kwbauson/create-pin-refs/test/netem"
)

// buildProgram builds create-pin-refs (the module's root) into a temporary folder.
func buildProgram(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("time"); err != nil {
		t.Skip("measuring the peak RSS needs GNU time")
	}
	bin := filepath.Join(t.TempDir(), "create-pin-refs")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestMeasureVerified runs the producer with verification on and off end to
// end at a small size and checks that the figures are those of runs that
// verified, and not: every distinct narinfo read, CPU spent on it.
func TestMeasureVerified(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the program and runs it")
	}
	bin := buildProgram(t)
	const n = 50
	rows, err := measureVerified(context.Background(), bin, []int{n}, 3, t.TempDir(), netem.Link{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("%d rows, want 1", len(rows))
	}
	r := rows[0]
	// 50 pins, ~2 libraries each, their ancestors and the base chain.
	if r.pins != n || r.narinfos < n+closures.Base || r.narinfos > n+closures.Libraries+closures.Base {
		t.Errorf("pins %d, distinct narinfos %d: not what 50 pins' closures hold", r.pins, r.narinfos)
	}
	if r.on.narinfos < int64(r.narinfos) || r.on.requests < r.on.narinfos+2 {
		t.Errorf("verifying run: %d requests, %d for narinfo files; want ≥ %d narinfo files and the pins and the cache's description",
			r.on.requests, r.on.narinfos, r.narinfos)
	}
	if r.off.narinfos != 0 || r.off.requests < 2 {
		t.Errorf("run without verification: %d requests, %d for narinfo files", r.off.requests, r.off.narinfos)
	}
	if r.verifying() <= 0 {
		t.Errorf("no verification phase logged: %v", r.on.phases)
	}
	if r.on.cpu <= r.off.cpu || r.on.wall <= 0 || r.off.wall <= 0 {
		t.Errorf("CPU %s with verification, %s without; wall %s, %s: verifying %d narinfos costs CPU",
			r.on.cpu, r.off.cpu, r.on.wall, r.off.wall, r.narinfos)
	}
	if r.on.rssKiB <= 0 || r.off.rssKiB <= 0 {
		t.Errorf("peak RSS %d and %d KiB", r.on.rssKiB, r.off.rssKiB)
	}
	var b strings.Builder
	writeVerified(&b, rows, false)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^\| 50 \| \d+ \| off \| \d+ ms \| \d+ ms \| [\d.]+ MiB \| [\d,]+ \(0\) \|  \|  \|  \|$`),
		regexp.MustCompile(`(?m)^\| 50 \| \d+ \| fail \| \d+ ms \| \d+ ms \| [\d.]+ MiB \| [\d,]+ \([1-9][\d,]*\) \| \d+ ms \| [+-]\d+ ms, \+\d+ ms \|  \|$`),
	} {
		if !want.MatchString(b.String()) {
			t.Errorf("section lacks %s:\n%s", want, b.String())
		}
	}
}

// TestCheckVerified: a run counts as verifying only when it read every
// narinfo, logged every closure complete and wrote every pin's closure.
func TestCheckVerified(t *testing.T) {
	const good = `{"pins":[{"pin":"a","closure":"complete","closurePaths":20},{"pin":"b","closure":"complete","closurePaths":3}]}`
	const unverified = `{"pins":[{"pin":"a"},{"pin":"b"}]}`
	const log = "verified 2 pins against http://127.0.0.1:1/cache/bench and 0 upstream caches in 3ms: 2 complete, 0 split, 0 incomplete, 0 missing\n"
	for _, tt := range []struct {
		name, mode, pinsJSON, log string
		narinfos                  int64
		wantErr                   string
	}{
		{"verified", "fail", good, log, 30, ""},
		{"not verified", "off", unverified, "", 0, ""},
		{"narinfos with verification off", "off", unverified, "", 1, "with verification off"},
		{"too few narinfos", "fail", good, log, 29, "did not verify them all"},
		{"no verification logged", "fail", good, "published 2 pins", 30, "the log lacks"},
		{"an incomplete closure", "fail", good, strings.Replace(log, "2 complete, 0 split, 0 incomplete", "1 complete, 0 split, 1 incomplete", 1), 30, "the log lacks"},
		{"pins.json without closures", "fail", unverified, log, 30, `pin "a" has closure ""`},
		{"pins.json with a pin less", "fail", `{"pins":[{"pin":"a","closure":"complete","closurePaths":20}]}`, log, 30, "lists 1 pins, not 2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "pins.json"), []byte(tt.pinsJSON), 0o644); err != nil {
				t.Fatal(err)
			}
			err := checkVerified(dir, sample{narinfos: tt.narinfos, log: tt.log}, tt.mode, 2, 30)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("error %v, want one saying %q", err, tt.wantErr)
			}
		})
	}
}
