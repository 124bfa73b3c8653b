// Command evalcost measures, with real Nix, what forcing one pin costs a user of a
// bundle with N pins, next to the original tool's format for the same pins:
//
//	go run ./bench/evalcost [-n 1,1000,10000,100000] [-runs 7]
//
// Every forced pin points at a real, valid store path (a tiny file added with
// `nix-store --add`), so `builtins.storePath` costs what it costs a user whose pin is
// already substituted and nothing goes to the network; all other pins keep random,
// unrealised paths so that file sizes and parse costs are those of real data.
// Each case runs `nix eval --impure --raw -f DIR NAME`; Nix's own start-up is
// `nix eval --impure --expr 1`, measured in the same rounds. Layouts: "original"
// (the original tool's pins.nix), "bundle" (this tool's output, from the real
// renderer), "perpin" (the one-name bundle of URL/p/NAME, from the real
// renderer: `nix eval --impure --raw -f DIR/p/NAME`; only the forced names'
// bundles are written, since each holds its own name alone) and "floor" (the
// bundle's index read with fromJSON and mapped to storePath, nothing else: the
// least any layout with a JSON index can cost).
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kwbauson/create-pin-refs/bench/pinset"
	"github.com/kwbauson/create-pin-refs/pkg/bundle"
	"github.com/kwbauson/create-pin-refs/pkg/cachix"
	"github.com/kwbauson/create-pin-refs/pkg/pins"
)

// nixConfig lets Nix run as root without a daemon or build users; with no
// substituters a pin that is not valid fails at once instead of being downloaded.
const nixConfig = "experimental-features = nix-command flakes fetch-closure\n" +
	"sandbox = false\nbuild-users-group =\nsubstituters =\n"

const defaultChroot = "/var/cache/create-pin-refs/trixie"

// defaultRuns is the timed runs per case; the README's figures say it.
const defaultRuns = 7

func main() {
	var o options
	flag.StringVar(&o.sizes, "n", "1,1000,10000,100000", "comma-separated pin counts")
	flag.IntVar(&o.runs, "runs", defaultRuns, "timed runs per case (after one warm-up run)")
	flag.BoolVar(&o.host, "host", true, "measure the host's Nix (nix and nix-store on PATH)")
	flag.StringVar(&o.chroot, "chroot", defaultChroot, "root of a chroot with a second Nix; empty to skip")
	flag.StringVar(&o.layouts, "layouts", "original,bundle,perpin", "layouts to measure: "+strings.Join(layoutNames(), ","))
	flag.BoolVar(&o.keep, "keep", false, "keep the generated folders")
	flag.IntVar(&o.nice, "nice", -20, "scheduling priority for the measured runs (root only), so that other work on the machine disturbs them less")
	flag.Parse()
	if err := run(o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "evalcost:", err)
		os.Exit(1)
	}
}

type options struct {
	sizes, chroot, layouts string
	runs, nice             int
	host, keep             bool
}

func run(o options, w io.Writer) error {
	var sizes []int
	for _, s := range strings.Split(o.sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("-n: %q is not a positive count", s)
		}
		sizes = append(sizes, n)
	}
	if o.runs < 1 {
		return errors.New("-runs must be at least 1")
	}
	if err := renice(o.nice); err != nil {
		fmt.Fprintf(os.Stderr, "evalcost: keeping the default priority: %v\n", err)
	}
	var layouts []layout
	for _, name := range strings.Split(o.layouts, ",") {
		l, ok := findLayout(strings.TrimSpace(name))
		if !ok {
			return fmt.Errorf("-layouts: unknown layout %q (have %s)", name, strings.Join(layoutNames(), ", "))
		}
		layouts = append(layouts, l)
	}

	// Files go where both Nixes see them: under the chroot's /tmp when there is one.
	base := os.TempDir()
	if o.chroot != "" {
		if _, err := os.Stat(filepath.Join(o.chroot, "usr/bin/nix")); err != nil {
			fmt.Fprintf(os.Stderr, "evalcost: no Nix in chroot %s, skipping it\n", o.chroot)
			o.chroot = ""
		} else {
			base = filepath.Join(o.chroot, "tmp")
		}
	}
	work, err := os.MkdirTemp(base, "evalcost-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Fprintln(os.Stderr, "evalcost: keeping", work)
	} else {
		defer os.RemoveAll(work)
	}

	var nixes []*nixRunner
	if o.host {
		if _, err := exec.LookPath("nix"); err != nil {
			fmt.Fprintln(os.Stderr, "evalcost: no nix on PATH, skipping the host's Nix")
		} else {
			nixes = append(nixes, &nixRunner{})
		}
	}
	if o.chroot != "" {
		nixes = append(nixes, &nixRunner{root: o.chroot})
	}
	if len(nixes) == 0 {
		fmt.Fprintln(os.Stderr, "evalcost: no Nix to run: printing sizes only")
	}
	for _, nx := range nixes {
		if err := nx.init(); err != nil {
			return err
		}
	}

	var timings []timing
	var sizeRows []string
	for _, n := range sizes {
		dir := filepath.Join(work, "n"+strconv.Itoa(n))
		c, err := prepare(dir, n, layouts, nixes)
		if err != nil {
			return fmt.Errorf("with %d pins: %w", n, err)
		}
		sizeRows = append(sizeRows, c.sizeRow)
		for _, nx := range nixes {
			fmt.Fprintf(os.Stderr, "evalcost: N=%d, Nix %s ...\n", n, nx.version)
			t, err := measure(nx, c, o.runs)
			if err != nil {
				return fmt.Errorf("with %d pins, Nix %s: %w", n, nx.version, err)
			}
			timings = append(timings, t...)
		}
		if !o.keep {
			os.RemoveAll(dir)
		}
	}
	if len(timings) > 0 {
		printTimings(w, timings, o.runs)
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "| N pins | names on x86_64-linux | bundle files | bundle on disk | bundle .tar.gz | largest index | original pins.nix | original .tar.gz |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range sizeRows {
		fmt.Fprintln(w, r)
	}
	return nil
}

// nixRunner runs one Nix installation, on the host or inside a chroot.
type nixRunner struct {
	root, version string
	// realPath is a valid store path of this Nix's store; forced pins point at it.
	realPath string
}

// command runs prog (nix or nix-store, found on PATH) with args.
func (r *nixRunner) command(prog string, args ...string) *exec.Cmd {
	var cmd *exec.Cmd
	if r.root == "" {
		cmd = exec.Command(prog, args...)
	} else {
		cmd = exec.Command("chroot", append([]string{r.root, prog}, args...)...)
	}
	cmd.Env = append(os.Environ(), "NIX_CONFIG="+nixConfig)
	return cmd
}

// seen translates a host path to the path this Nix sees.
func (r *nixRunner) seen(hostPath string) string {
	if r.root == "" {
		return hostPath
	}
	rel, err := filepath.Rel(r.root, hostPath)
	if err != nil || strings.HasPrefix(rel, "..") {
		panic("evalcost: " + hostPath + " is outside the chroot " + r.root)
	}
	return "/" + rel
}

func (r *nixRunner) output(prog string, args ...string) (string, error) {
	cmd := r.command(prog, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s: %w: %s", strings.Join(cmd.Args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

func (r *nixRunner) init() error {
	v, err := r.output("nix", "--version")
	if err != nil {
		return err
	}
	r.version = v[strings.LastIndexByte(v, ' ')+1:]
	if r.root != "" {
		r.version += " (chroot)"
	} else {
		r.version += " (host)"
	}
	return nil
}

// addRealPath makes file (a host path) a valid store path of this Nix. It is run
// before every measurement, so a garbage collection meanwhile does no harm.
func (r *nixRunner) addRealPath(file string) error {
	p, err := r.output("nix-store", "--add", r.seen(file))
	if err != nil {
		return err
	}
	if err := pins.ValidateStorePath(p); err != nil {
		return err
	}
	r.realPath = p
	return nil
}

// layout is one way of writing the pins to a folder.
type layout struct {
	name string
	// write writes the pins under dir and returns the files written; real is the
	// valid store path the forced pins point at.
	write func(dir string, raw []cachix.Pin, real string) ([]bundle.File, error)
	// attr is the attribute path that selects name with `-f DIR`.
	attr func(name string) string
	// perName: DIR/SEGMENT is name's own bundle, evaluated whole (`-f
	// DIR/SEGMENT`), and attr is unused.
	perName bool
}

// floorDefault maps every name of the bundle's index for the current system to one
// valid store path: the index read and the attribute set, with no shard and no
// per-pin logic.
const floorDefault = `{ }:
builtins.mapAttrs (_: _: builtins.storePath %s) (
  builtins.removeAttrs (builtins.fromJSON (builtins.readFile ./data/index/all.json)) (
    builtins.fromJSON (builtins.readFile (./data/index/absent + "/${builtins.currentSystem}.json"))
  )
)
`

func allLayouts() []layout {
	return []layout{
		{
			name: "original",
			write: func(dir string, raw []cachix.Pin, _ string) ([]bundle.File, error) {
				return writeFiles(dir, pinset.OriginalFiles(raw))
			},
			// The original splits on every dot; the forced names have none.
			attr: func(name string) string { return name },
		},
		{
			name: "bundle",
			write: func(dir string, raw []cachix.Pin, _ string) ([]bundle.File, error) {
				b, err := renderBundle(raw)
				if err != nil {
					return nil, err
				}
				return b.Files, b.WriteDir(dir)
			},
			attr: bundle.NixString,
		},
		{
			name:    "perpin",
			perName: true,
			write: func(dir string, raw []cachix.Pin, real string) ([]bundle.File, error) {
				set, err := pins.Build(raw, pins.Options{})
				if err != nil {
					return nil, err
				}
				ones, err := bundle.RenderOnes(set, benchMeta)
				if err != nil {
					return nil, err
				}
				var files []bundle.File
				for _, o := range ones {
					// The forced names: those whose pin is the real path.
					if real == "" || !slices.ContainsFunc(set.Pins, func(p pins.Pin) bool { return p.Name == o.Name && p.StorePath == real }) {
						continue
					}
					if err := o.Bundle.WriteDir(filepath.Join(dir, o.Segment)); err != nil {
						return nil, err
					}
					files = append(files, o.Bundle.Files...)
				}
				return files, nil
			},
		},
		{
			name: "floor",
			write: func(dir string, raw []cachix.Pin, real string) ([]bundle.File, error) {
				b, err := renderBundle(raw)
				if err != nil {
					return nil, err
				}
				files := map[string][]byte{"default.nix": fmt.Appendf(nil, floorDefault, bundle.NixString(real))}
				for _, f := range b.Files {
					if strings.HasPrefix(f.Path, "data/index/") {
						files[f.Path] = f.Data
					}
				}
				return writeFiles(dir, files)
			},
			attr: bundle.NixString,
		},
	}
}

func layoutNames() []string {
	var out []string
	for _, l := range allLayouts() {
		out = append(out, l.name)
	}
	return out
}

func findLayout(name string) (layout, bool) {
	for _, l := range allLayouts() {
		if l.name == name {
			return l, true
		}
	}
	return layout{}, false
}

func renderBundle(raw []cachix.Pin) (*bundle.Bundle, error) {
	set, err := pins.Build(raw, pins.Options{})
	if err != nil {
		return nil, err
	}
	return bundle.Render(set, benchMeta)
}

var benchMeta = bundle.Meta{Cache: "bench", Substituter: "https://bench.cachix.org"}

func writeFiles(dir string, files map[string][]byte) ([]bundle.File, error) {
	var out []bundle.File
	for p, data := range files {
		out = append(out, bundle.File{Path: p, Data: data, Mode: 0o644})
	}
	slices.SortFunc(out, func(a, b bundle.File) int { return strings.Compare(a.Path, b.Path) })
	return out, (&bundle.Bundle{Files: out}).WriteDir(dir)
}

// prepared is one N's folders, ready to measure.
type prepared struct {
	n       int
	names   []string // forced names: first, middle, last on x86_64-linux
	dirs    map[string]string
	layouts []layout
	sizeRow string
}

func prepare(dir string, n int, ls []layout, nixes []*nixRunner) (*prepared, error) {
	raw := pinset.Synthetic(n)
	set, err := pins.Build(raw, pins.Options{})
	if err != nil {
		return nil, err
	}
	// Names offered on x86_64-linux, in bundle order; the forced ones have no dot
	// so that every layout selects them by the same attribute path.
	var offered, plain []string
	for _, p := range set.Pins {
		if p.System != pinset.Linux && p.System != "" {
			continue
		}
		if len(offered) == 0 || offered[len(offered)-1] != p.Name {
			offered = append(offered, p.Name)
			if !strings.Contains(p.Name, ".") {
				plain = append(plain, p.Name)
			}
		}
	}
	if len(plain) == 0 {
		return nil, errors.New("no dotless name on x86_64-linux")
	}
	forced := slices.Compact([]string{plain[0], plain[len(plain)/2], plain[len(plain)-1]})

	// One real path shared by both stores: `nix-store --add` of the same file gives
	// the same content-addressed path in every Nix.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	file := filepath.Join(dir, "evalcost-pin")
	if err := os.WriteFile(file, []byte("a pinned store path, for create-pin-refs' evalcost\n"), 0o644); err != nil {
		return nil, err
	}
	real := ""
	for _, nx := range nixes {
		if err := nx.addRealPath(file); err != nil {
			return nil, err
		}
		if real != "" && nx.realPath != real {
			return nil, fmt.Errorf("nix-store --add gave %s and %s for the same file", real, nx.realPath)
		}
		real = nx.realPath
	}
	for i := range raw {
		if name, _ := pins.SplitName(raw[i].Name); real != "" && slices.Contains(forced, name) {
			raw[i].LastRevision.StorePath = real
		}
	}

	c := &prepared{n: n, names: forced, dirs: map[string]string{}, layouts: ls}
	for _, l := range ls {
		d := filepath.Join(dir, l.name)
		if _, err := l.write(d, raw, real); err != nil {
			return nil, fmt.Errorf("layout %s: %w", l.name, err)
		}
		c.dirs[l.name] = d
	}

	// Sizes, from the files as published.
	b, err := renderBundle(raw)
	if err != nil {
		return nil, err
	}
	onDisk, largest := 0, 0
	for _, f := range b.Files {
		onDisk += len(f.Data)
		if strings.HasPrefix(f.Path, "data/index/") {
			largest = max(largest, len(f.Data))
		}
	}
	tgz, err := b.Tarball()
	if err != nil {
		return nil, err
	}
	orig := pinset.OriginalFiles(raw)
	var origFiles []bundle.File
	for p, data := range orig {
		origFiles = append(origFiles, bundle.File{Path: p, Data: data, Mode: 0o644})
	}
	slices.SortFunc(origFiles, func(a, b bundle.File) int { return strings.Compare(a.Path, b.Path) })
	otgz, err := (&bundle.Bundle{Files: origFiles}).Tarball()
	if err != nil {
		return nil, err
	}
	c.sizeRow = fmt.Sprintf("| %d | %d | %d | %s | %s | %s | %s | %s |", n, len(offered), len(b.Files),
		kib(onDisk), kib(len(tgz)), kib(largest), kib(len(orig["pins.nix"])), kib(len(otgz)))
	return c, nil
}

func kib(n int) string {
	if n < 10*1024 {
		return strconv.Itoa(n) + " B"
	}
	return strconv.FormatFloat(float64(n)/1024, 'f', 0, 64) + " KiB"
}

// renice sets the priority of every thread of this process; the Nix processes
// inherit it from whichever thread starts them.
func renice(prio int) error {
	if prio == 0 {
		return nil
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, prio); err != nil {
			return err
		}
	}
	return nil
}

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
