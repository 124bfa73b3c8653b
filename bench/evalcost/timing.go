package main

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kwbauson/create-pin-refs/pkg/bundle"
	"github.com/kwbauson/create-pin-refs/pkg/pins"
)

// timing is the runs of one case; name is "" for Nix's start-up.
type timing struct {
	n           int
	nix, layout string
	name, pos   string
	wall, cpu   []time.Duration
	startup     *timing
}

// measure runs every case once to check it and warm the page cache, then times
// the cases in rounds, each round in a rotated order, so that load on the
// machine and ordering effects spread over all of them.
func measure(nx *nixRunner, c *prepared, runs int) ([]timing, error) {
	startup := &timing{n: c.n, nix: nx.version}
	type kase struct {
		t    *timing
		args []string
	}
	cases := []kase{{t: startup, args: []string{"eval", "--impure", "--expr", "1"}}}
	positions := []string{"first", "middle", "last"}
	if len(c.names) == 2 {
		positions = []string{"first", "last"}
	}
	for _, l := range c.layouts {
		for i, name := range c.names {
			var args []string
			if l.perName {
				args = []string{"eval", "--impure", "--raw", "-f", nx.seen(filepath.Join(c.dirs[l.name], bundle.Segment(name)))}
			} else {
				args = []string{"eval", "--impure", "--raw", "-f", nx.seen(c.dirs[l.name]), l.attr(name)}
			}
			cases = append(cases, kase{
				t:    &timing{n: c.n, nix: nx.version, layout: l.name, name: name, pos: positions[i], startup: startup},
				args: args,
			})
		}
	}
	for _, k := range cases[1:] {
		out, err := nx.output("nix", k.args...)
		if err != nil {
			return nil, err
		}
		// Nix before 2.16 gets the bundle's wrapper derivation, whose output path
		// differs from the pinned one.
		if out != nx.realPath && pins.ValidateStorePath(out) != nil {
			return nil, fmt.Errorf("%s gave %q, not a store path", strings.Join(k.args, " "), out)
		}
	}
	for r := 0; r < runs; r++ {
		for i := range cases {
			k := cases[(i+r)%len(cases)]
			wall, cpu, err := timeRun(nx, k.args)
			if err != nil {
				return nil, err
			}
			k.t.wall = append(k.t.wall, wall)
			k.t.cpu = append(k.t.cpu, cpu)
		}
	}
	out := make([]timing, 0, len(cases))
	for _, k := range cases {
		out = append(out, *k.t)
	}
	return out, nil
}

// timeRun returns the wall-clock time of one run and the CPU time (user and
// system) of the process, which a busy machine inflates less.
func timeRun(nx *nixRunner, args []string) (wall, cpu time.Duration, err error) {
	cmd := nx.command("nix", args...)
	var stderr bytes.Buffer
	cmd.Stdout = io.Discard
	cmd.Stderr = &stderr
	start := time.Now()
	err = cmd.Run()
	wall = time.Since(start)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w: %s", strings.Join(cmd.Args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return wall, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Sorted(slices.Values(ds))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64) }

// printTimings prints one row per N, Nix and layout: the total per forced name
// as min (median), and the cost over start-up.
func printTimings(w io.Writer, ts []timing, runs int) {
	fmt.Fprintf(w, "Forcing one pin: `nix eval --impure --raw -f DIR NAME`, wall-clock ms, min (median) of %d runs. "+
		"Start-up is `nix eval --impure --expr 1`. \"Over start-up\" is a forced name's min − start-up's min "+
		"(median − median), the middle value of the names (they cost the same: one shard each), so one disturbed run does not "+
		"decide it; the CPU column is the same with user+system CPU time.\n\n", runs)
	fmt.Fprintln(w, "| N pins | Nix | layout | start-up | first | middle | last | over start-up | over start-up, CPU |")
	fmt.Fprintln(w, "|---:|---|---|---:|---:|---:|---:|---:|---:|")
	type key struct {
		n           int
		nix, layout string
	}
	var order []key
	rows := map[key]map[string]timing{}
	for _, t := range ts {
		if t.name == "" {
			continue
		}
		k := key{t.n, t.nix, t.layout}
		if rows[k] == nil {
			rows[k] = map[string]timing{}
			order = append(order, k)
		}
		rows[k][t.pos] = t
	}
	for _, k := range order {
		row := rows[k]
		var su *timing
		var overMin, overMed, overCPU []time.Duration
		cells := make([]string, 0, 3)
		for _, pos := range []string{"first", "middle", "last"} {
			t, ok := row[pos]
			if !ok {
				cells = append(cells, "—")
				continue
			}
			su = t.startup
			cells = append(cells, ms(slices.Min(t.wall))+" ("+ms(median(t.wall))+")")
			overMin = append(overMin, slices.Min(t.wall)-slices.Min(su.wall))
			overMed = append(overMed, median(t.wall)-median(su.wall))
			overCPU = append(overCPU, slices.Min(t.cpu)-slices.Min(su.cpu))
		}
		fmt.Fprintf(w, "| %d | %s | %s | %s (%s) | %s | %s (%s) | %s |\n", k.n, k.nix, k.layout,
			ms(slices.Min(su.wall)), ms(median(su.wall)), strings.Join(cells, " | "),
			ms(median(overMin)), ms(median(overMed)), ms(median(overCPU)))
	}
}
