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

	"github.com/kwbauson/create-pin-refs/bench/pinset"
	"github.com/kwbauson/create-pin-refs/pkg/bundle"
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
