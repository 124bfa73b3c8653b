package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
)

// Peak RSS comes from GNU time, which starts the measured process with fork.
// A process Go starts shares its parent's memory until exec (vfork), and the
// kernel charges the parent's peak RSS to it (wait4's ru_maxrss): here that is
// the bench's own, loopback servers and all, hundreds of MiB at 100,000 pins.
// GNU time's own peak is about a MiB, so the figure is the process's.

// throughTime makes cmd run under GNU time, which writes the peak RSS in KiB
// of the largest process (cmd's or a child's) to file.
func throughTime(cmd *exec.Cmd, file string) error {
	gnuTime, err := exec.LookPath("time")
	if err != nil {
		return fmt.Errorf("measuring the peak RSS needs GNU time (apt-get install time): %w", err)
	}
	cmd.Args = append([]string{gnuTime, "--format=%M", "--output=" + file, cmd.Path}, cmd.Args[1:]...)
	cmd.Path = gnuTime
	return nil
}

// readPeakRSS reads what GNU time wrote: the last line is %M.
func readPeakRSS(file string) (int64, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	kib, err := strconv.ParseInt(string(lines[len(lines)-1]), 10, 64)
	if err != nil || kib <= 0 {
		return 0, fmt.Errorf("GNU time wrote %q, not a peak RSS in KiB", data)
	}
	return kib, nil
}
