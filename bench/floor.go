package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// floor is what no producer on this machine can go below, for one site:
// starting the process, and writing the site's files with nothing else to do;
// and what touching the run's memory for the first time costs here.
type floor struct {
	startup time.Duration // create-pin-refs --help, whole process
	write   time.Duration // the site's files written afresh, in one process
	files   int
	bytes   int64
	// touch is dd filling one buffer of the run's peak RSS: the kernel
	// hands every page of it over on first touch.
	touch    time.Duration
	touchKiB int64
}

// measureFloor times runs starts of bin, runs writes of a copy of the site in
// dir and runs first touches of rssKiB of memory (median of each), so that
// the report can say what limits a run.
func measureFloor(ctx context.Context, bin, dir string, rssKiB int64, runs int) (floor, error) {
	f := floor{touchKiB: rssKiB}
	type file struct {
		rel  string
		data []byte
	}
	var files []file
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		files = append(files, file{rel, data})
		f.bytes += int64(len(data))
		return err
	})
	if err != nil {
		return f, err
	}
	f.files = len(files)
	starts := make([]time.Duration, 0, runs)
	writes := make([]time.Duration, 0, runs)
	touches := make([]time.Duration, 0, runs)
	for range runs {
		t := time.Now()
		dd := exec.CommandContext(ctx, "dd", "if=/dev/zero", "of=/dev/null", "count=1", fmt.Sprintf("bs=%dK", rssKiB))
		if out, err := dd.CombinedOutput(); err != nil {
			return f, fmt.Errorf("dd: %w\n%s", err, out)
		}
		touches = append(touches, time.Since(t))

		t = time.Now()
		cmd := exec.CommandContext(ctx, bin, "--help")
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		if err := cmd.Run(); err != nil {
			return f, fmt.Errorf("%s --help: %w", bin, err)
		}
		starts = append(starts, time.Since(t))

		copyDir := dir + "-floor"
		if err := os.RemoveAll(copyDir); err != nil {
			return f, err
		}
		t = time.Now()
		made := map[string]bool{}
		for _, fl := range files {
			p := filepath.Join(copyDir, fl.rel)
			if d := filepath.Dir(p); !made[d] {
				if err := os.MkdirAll(d, 0o755); err != nil {
					return f, err
				}
				made[d] = true
			}
			if err := os.WriteFile(p, fl.data, 0o644); err != nil {
				return f, err
			}
		}
		writes = append(writes, time.Since(t))
		if err := os.RemoveAll(copyDir); err != nil {
			return f, err
		}
	}
	f.startup, f.write, f.touch = medianDuration(starts), medianDuration(writes), medianDuration(touches)
	return f, nil
}

// writeFloors says what bounds the all-pins-only runs: the process start and
// the writing of their files, against the original's whole run.
func writeFloors(w io.Writer, rows []producerRow) {
	var lines []string
	var orig producerRow
	for _, p := range rows {
		if p.tool == "original" {
			orig = p
		}
		if p.floor.files == 0 {
			continue
		}
		f := p.floor
		var phases []string
		for _, ph := range p.phases {
			phases = append(phases, fmt.Sprintf("%s %s", strings.ToLower(ph.name), ms(ph.took)))
		}
		lines = append(lines, fmt.Sprintf("| %s | %s | %s | %s | %s | %d files, %.1f MiB: %s | %s | %s | %.0f MiB: %s |",
			count(p.pins), ms(orig.wall), ms(orig.wall/10), ms(p.wall), strings.Join(phases, ", "),
			f.files, float64(f.bytes)/(1<<20), ms(f.write), ms(f.startup), ms(f.startup+f.write),
			float64(f.touchKiB)/1024, ms(f.touch)))
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprintln(w, "What bounds the all-pins run (`dir:all-pins`) on this machine: starting the process "+
		"(`create-pin-refs --help`, a whole process) and writing the site's files with nothing else to do "+
		"(the same files and bytes, written afresh by one process), each the median of the runs. Their sum "+
		"is a floor no producer writing this site here goes below; a tenth of the original's time is the goal. "+
		"The run's phases are the times it logs (\"Reading pins took …\": the API requests, decoding and "+
		"checking the pins; \"Rendering the bundle took …\": rendering, compressing and writing the site); "+
		"the rest of its wall time is the process start and exit. The last column is why memory is time here: "+
		"`dd if=/dev/zero of=/dev/null count=1 bs=RSS` fills one buffer the size of the run's peak RSS, "+
		"and the time it takes is the kernel handing over each page on first touch (this machine is a VM, where that is dear); "+
		"a run that needs that much memory pays about as much whatever else it does, and so does the original for its own, larger peak.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| pins | original | goal (a tenth) | all-pins run | its phases | writing the site alone | process start | floor (start + writing) | first touch of its peak RSS |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---|---|---:|---:|---:|")
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
	fmt.Fprintln(w)
}
