package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kwbauson/create-pin-refs/bench/closures"
	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
	"github.com/kwbauson/create-pin-refs/test/netem"
)

// verifyGoal is issue 11's bound for a run with verification on, at
// verifyGoalPins pins.
const (
	verifyGoal     = time.Second
	verifyGoalPins = 10000
)

// verifiedRow is one pin count of the producer with verification: the same
// pins published with --verify fail and with --verify off, medians of
// interleaved runs.
type verifiedRow struct {
	pins     int
	narinfos int // distinct paths of all the pins' closures: what verifying must read
	on, off  sample
}

// verifying is the time the run with verification on logged for its
// verification phase.
func (r verifiedRow) verifying() time.Duration {
	for _, ph := range r.on.phases {
		if strings.HasPrefix(ph.name, "Verifying") {
			return ph.took
		}
	}
	return 0
}

// verifiedPins returns n pins whose store paths are those of a
// bench/closures cache, as Cachix reports them, and the cache.
func verifiedPins(n int) ([]cachix.Pin, *closures.Cache) {
	c := closures.New(n)
	return closurePins(c.Pins), c
}

// closurePins returns a pin for each store path, as Cachix reports them.
func closurePins(paths []string) []cachix.Pin {
	raw := make([]cachix.Pin, len(paths))
	for i, p := range paths {
		name := "pin-" + strconv.Itoa(i)
		raw[i] = cachix.Pin{
			Name:      name + ".x86_64-linux",
			CreatedOn: "2025-01-02T03:04:05Z",
			LastRevision: cachix.Revision{
				StorePath: p,
				CreatedOn: "2025-01-02T03:04:05Z",
				Revision:  1 + i%5,
				Artifacts: []string{"bin/" + name},
			},
		}
	}
	return raw
}

// measureVerified runs create-pin-refs with --verify fail and --verify off in
// turn, runs times each after a warm-up round, on pins whose closures the
// loopback server's binary cache holds, and checks that every verifying run
// read every narinfo and published every pin as complete.
func measureVerified(ctx context.Context, bin string, sizes []int, runs int, work string, link netem.Link) ([]verifiedRow, error) {
	var rows []verifiedRow
	for _, n := range sizes {
		raw, cache := verifiedPins(n)
		srv, err := startPinServer(raw, serverOptions{link: link, cache: cache})
		if err != nil {
			return nil, err
		}
		row := verifiedRow{pins: n, narinfos: cache.Reachable(cache.Pins)}
		out := filepath.Join(work, "site-verified")
		var on, off []sample
		for r := 0; r <= runs; r++ {
			for _, mode := range []string{"fail", "off"} {
				s, err := runVerify(ctx, bin, srv, mode, out)
				if err == nil {
					err = checkVerified(out, s, mode, n, row.narinfos)
				}
				if err != nil {
					srv.Close()
					return nil, fmt.Errorf("%d pins, --verify %s: %w", n, mode, err)
				}
				if r == 0 {
					continue
				}
				if mode == "fail" {
					on = append(on, s)
				} else {
					off = append(off, s)
				}
			}
		}
		srv.Close()
		row.on, row.off = median(on), median(off)
		rows = append(rows, row)
	}
	return rows, nil
}

func runVerify(ctx context.Context, bin string, srv *pinServer, mode, out string) (sample, error) {
	if err := os.RemoveAll(out); err != nil {
		return sample{}, err
	}
	// --upstream none: every path is in the cache, and the bench asks
	// nothing of any host but loopback.
	args := []string{"--cache", cacheName, "--cachix-url", srv.url, "--out", out, "--mode", "dir",
		"--per-pin-urls", "off", "--pages-url", srv.siteURL, "--upstream", "none", "--verify", mode}
	return runMeasured(ctx, srv.counts, exec.CommandContext(ctx, bin, args...))
}

// checkVerified makes sure a run did what its mode says, so that the table
// can never show --verify off twice: with verification, every distinct
// narinfo was requested, the log says every pin's closure is complete and
// pins.json carries every pin's closure; without, no narinfo was requested.
func checkVerified(out string, s sample, mode string, pins, narinfos int) error {
	if mode == "off" {
		if s.narinfos != 0 {
			return fmt.Errorf("requested %d narinfo files with verification off", s.narinfos)
		}
		return nil
	}
	if s.narinfos < int64(narinfos) {
		return fmt.Errorf("requested %d narinfo files, but the pins' closures have %d distinct paths: the run did not verify them all", s.narinfos, narinfos)
	}
	if want := fmt.Sprintf("verified %d pins against ", pins); !strings.Contains(s.log, want) {
		return fmt.Errorf("the log lacks %q:\n%s", want, s.log)
	}
	if want := fmt.Sprintf(": %d complete, 0 split, 0 incomplete, 0 missing", pins); !strings.Contains(s.log, want) {
		return fmt.Errorf("the log lacks %q:\n%s", want, s.log)
	}
	f, err := os.Open(filepath.Join(out, "pins.json"))
	if err != nil {
		return err
	}
	defer f.Close()
	var m struct {
		Pins []struct {
			Pin          string `json:"pin"`
			Closure      string `json:"closure"`
			ClosurePaths int    `json:"closurePaths"`
		} `json:"pins"`
	}
	if err := json.NewDecoder(f).Decode(&m); err != nil {
		return fmt.Errorf("pins.json: %w", err)
	}
	if len(m.Pins) != pins {
		return fmt.Errorf("pins.json lists %d pins, not %d", len(m.Pins), pins)
	}
	for _, p := range m.Pins {
		if p.Closure != "complete" || p.ClosurePaths < 2 {
			return fmt.Errorf("pins.json: pin %q has closure %q of %d paths, not a verified complete closure", p.Pin, p.Closure, p.ClosurePaths)
		}
	}
	return nil
}

// writeVerified writes the "Producer with verification" section.
func writeVerified(w io.Writer, rows []verifiedRow, skipped bool) {
	fmt.Fprintln(w, "## Producer with verification")
	fmt.Fprintln(w)
	if skipped {
		fmt.Fprintln(w, "Not measured in this run (`-verify-n ''`).")
		fmt.Fprintln(w)
		return
	}
	fmt.Fprintf(w, "create-pin-refs as a whole process with verification on (`--verify fail`, the default), "+
		"in turn with `--verify off` on the same pins, median of the runs: `--mode dir --per-pin-urls off --upstream none`. "+
		"The pins' store paths are those of `bench/closures` (each pin refers to two of %s libraries, each library to a "+
		"quarter-index library and to a chain of %d base paths, so closures overlap as real ones do); the loopback "+
		"server that stands in for Cachix also serves their binary cache where the cache's description points, so the run "+
		"reads the pins, then every narinfo of every closure over HTTP on 127.0.0.1 (`--concurrency` default). Every "+
		"verifying run is checked to have requested every distinct narinfo, to log every closure complete and to "+
		"write each pin's closure into pins.json. The server runs in the bench's process, on the same cores: its CPU is "+
		"not in the CPU column. Goal (issue 11): %s pins in at most %g s with verification on.\n\n",
		count(closures.Libraries), closures.Base, count(verifyGoalPins), verifyGoal.Seconds())
	fmt.Fprintln(w, "| pins | distinct narinfos | --verify | wall | CPU | peak RSS | HTTP requests (narinfo) | verification phase (logged) | verifying costs (wall, CPU) | goal |")
	fmt.Fprintln(w, "|---:|---:|---|---:|---:|---:|---:|---:|---:|---|")
	for _, r := range rows {
		for _, mode := range []string{"off", "fail"} {
			s, phase, cost, goal := r.off, "", "", ""
			if mode == "fail" {
				s, phase = r.on, ms(r.verifying())
				cost = fmt.Sprintf("%s, %s", signedMs(r.on.wall-r.off.wall), signedMs(r.on.cpu-r.off.cpu))
				if r.pins == verifyGoalPins {
					goal = fmt.Sprintf("≤ %s: met", ms(verifyGoal))
					if s.wall > verifyGoal {
						goal = fmt.Sprintf("≤ %s: **not met** (%.1f× over)", ms(verifyGoal), float64(s.wall)/float64(verifyGoal))
					}
				}
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %.1f MiB | %s (%s) | %s | %s | %s |\n", count(r.pins), count(r.narinfos), mode,
				ms(s.wall), ms(s.cpu), float64(s.rssKiB)/1024, count(int(s.requests)), count(int(s.narinfos)), phase, cost, goal)
		}
	}
	fmt.Fprintln(w)
}

func signedMs(d time.Duration) string {
	return fmt.Sprintf("%+.0f ms", float64(d)/float64(time.Millisecond))
}
