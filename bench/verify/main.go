// Command verify measures what verification costs: the closures of many pins
// (bench/closures: ~20 paths each, shared as real closures are) read from a
// binary cache on loopback, served by a child process so that only the
// verifier's own memory is counted. It prints wall time and peak RSS.
//
//	go run ./bench/verify [-pins 10000] [-concurrency 25] [-runs 3]
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kwbauson/create-pin-refs/bench/closures"
	"github.com/kwbauson/create-pin-refs/pkg/narinfo"
	"github.com/kwbauson/create-pin-refs/pkg/verify"
)

func main() {
	pins := flag.Int("pins", 10000, "number of pins")
	concurrency := flag.Int("concurrency", 25, "narinfo requests in flight (README's figures: 25)")
	runs := flag.Int("runs", 3, "runs, each with fresh connections and no shared answers")
	serve := flag.Bool("serve", false, "serve the binary cache and print its URL (the child process)")
	profile := flag.String("cpuprofile", "", "write the verifier's CPU profile to this file")
	flag.Parse()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "verify:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if *serve {
		serveCache(*pins)
		return
	}
	if err := run(*pins, *concurrency, *runs); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "verify:", err)
		os.Exit(1)
	}
}

// serveCache serves until stdin closes, i.e. until the parent exits.
func serveCache(pins int) {
	c := closures.New(pins)
	url, l, err := c.Listen()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer l.Close()
	fmt.Println(url)
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
}

func run(pins, concurrency, runs int) error {
	child := exec.Command(os.Args[0], "-serve", "-pins", strconv.Itoa(pins))
	child.Stderr = os.Stderr
	stdin, err := child.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		return err
	}
	if err := child.Start(); err != nil {
		return err
	}
	defer func() { stdin.Close(); _ = child.Wait() }()
	url, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return fmt.Errorf("the cache process: %w", err)
	}
	url = strings.TrimSpace(url)
	paths := closures.New(pins).Pins // the same pins, made here too

	fmt.Printf("%d pins, concurrency %d, cache %s (served by another process), %d CPUs\n", pins, concurrency, url, runtime.NumCPU())
	best := time.Duration(0)
	for i := range runs {
		cache, err := narinfo.New(url, narinfo.Options{Transport: narinfo.NewTransport(concurrency)})
		if err != nil {
			return err
		}
		start, cpu0 := time.Now(), cpuTime()
		got, err := verify.Closures(context.Background(), paths, verify.Options{Cache: cache, Concurrency: concurrency})
		took, cpu := time.Since(start), cpuTime()-cpu0
		if err != nil {
			return err
		}
		total, complete := 0, 0
		for _, c := range got {
			total += c.Paths
			if c.Class == verify.Complete {
				complete++
			}
		}
		if complete != pins {
			return fmt.Errorf("run %d: %d of %d closures complete", i+1, complete, pins)
		}
		fmt.Printf("run %d: %s wall, %s CPU in this process, %d narinfos, %.1f closure paths per pin on average\n",
			i+1, took.Round(time.Millisecond), cpu.Round(time.Millisecond), closures.New(0).Paths()+pins, float64(total)/float64(pins))
		if best == 0 || took < best {
			best = took
		}
	}
	fmt.Printf("best wall %s for %d pins; peak RSS %.1f MiB (VmHWM, whole process)\n", best.Round(time.Millisecond), pins, float64(peakRSS())/(1<<20))
	return nil
}

// cpuTime is the user and system time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS reads the process's peak resident set size, in bytes.
func peakRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return -1
}
