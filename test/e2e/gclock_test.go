package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// stateDir is where every installation keeps its state; the garbage
// collector's lock, gc.lock, is there.
const stateDir = "/nix/var/nix"

// Why every Nix command of the suite holds off the garbage collector.
//
// The store is shared with every other Nix user of the machine. test/nixlock
// keeps the deletions of this repository's tests apart from their commands,
// but any collector (a run of another checkout, a user's nix-store --gc, …)
// holds gc.lock exclusively, and a Nix command must not overlap one. A Nix
// command that registers a temporary root while a collector runs sends it over
// the collector's socket and keeps that connection. When that collector ends
// it shuts the connection; the next root the command registers under the next
// collector goes to the dead socket. Nix handles the EPIPE (it reconnects),
// but the write also raises SIGPIPE, which Nix keeps blocked in every thread,
// so it stays pending on the main thread until `nix run` or `nix shell -c`
// restores the signal mask to exec the program: then it kills Nix, with
// nothing printed ("signal: broken pipe", empty stdout, right after "copying
// path …"). Nix 2.8 and 2.26 alike (libstore's addTempRoot, libutil's
// restoreSignals). While gc.lock is held shared, no collector can start, so a
// command registers each root under its own shared lock and never talks to a
// collector; collectors wait for the command, seconds at most.

// holdOffGC keeps in's garbage collector from starting, waiting for a running
// one to end, until release is called. A store whose lock is not ours to open
// (a daemon's) needs nothing: the daemon registers its clients' roots.
func (in *install) holdOffGC(ctx context.Context) (release func(), err error) {
	if in.gcLock == "" {
		return func() {}, nil
	}
	f, err := os.Open(in.gcLock)
	if err != nil {
		return nil, fmt.Errorf("holding off the garbage collector: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	// A blocking flock, so that the wait races fairly with collectors that
	// wait too; it cannot be interrupted, so a wait given up on drops the lock
	// once it has it.
	locked := make(chan error, 1)
	go func() {
		for {
			err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH)
			if !errors.Is(err, syscall.EINTR) {
				locked <- err
				return
			}
		}
	}()
	select {
	case err := <-locked:
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("holding off the garbage collector: locking %s: %w", in.gcLock, err)
		}
		return func() { f.Close() }, nil // closing releases the lock
	case <-ctx.Done():
		go func() { <-locked; f.Close() }()
		return nil, fmt.Errorf("waiting for a garbage collector to release %s: %w", in.gcLock, ctx.Err())
	}
}

// findGCLock returns the host path of in's gc.lock, creating it as Nix does, or
// "" for a store whose lock the test may not open (a daemon's, as non-root).
// An installation where Nix never ran has no state folder yet (Debian's
// nix-bin makes none until a first command opens the store): nix-store
// --init makes it, with its database, as that first command would.
func findGCLock(ctx context.Context, in *install) (string, error) {
	if _, err := os.Stat(in.hostPath(stateDir)); errors.Is(err, os.ErrNotExist) {
		if r := in.runBesideGC(ctx, in.adminEnv(), "nix-store", "--init"); r.err != nil {
			return "", fmt.Errorf("%s: no Nix state folder %s, and making it failed: %s", in.spec, stateDir, r.describe())
		}
	}
	if _, err := os.Stat(in.hostPath(stateDir)); err != nil {
		return "", fmt.Errorf("%s: no Nix state folder (the suite assumes %s): %w", in.spec, stateDir, err)
	}
	path := in.hostPath(stateDir + "/gc.lock")
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	switch {
	case errors.Is(err, os.ErrPermission):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("%s: %w", in.spec, err)
	}
	f.Close()
	return path, nil
}

// TestHoldOffGC checks the lock as a collector sees it: no exclusive lock while
// it is held, and no hold while a collector has it.
func TestHoldOffGC(t *testing.T) {
	dir := t.TempDir()
	in := &install{spec: "host", hostBase: dir, nixBase: dir, gcLock: filepath.Join(dir, "gc.lock")}
	if err := os.WriteFile(in.gcLock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	collector := func(t *testing.T) *os.File {
		f, err := os.Open(in.gcLock)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	exclusive := func(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) }

	release, err := in.holdOffGC(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := exclusive(collector(t)); !errors.Is(err, syscall.EWOULDBLOCK) {
		t.Errorf("a collector got the lock while it was held off: %v", err)
	}
	release()
	gc := collector(t)
	if err := exclusive(gc); err != nil {
		t.Fatalf("a collector cannot lock after release: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, err := in.holdOffGC(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("held off while a collector runs: want a wait until the deadline, got %v", err)
	}
	gc.Close()
	release, err = in.holdOffGC(t.Context())
	if err != nil {
		t.Fatalf("after the collector ended: %v", err)
	}
	release()
}

// TestRunHoldsOffGC checks that a command run in an installation cannot take
// the collector's lock, as util-linux's flock tries it.
func TestRunHoldsOffGC(t *testing.T) {
	if _, err := exec.LookPath("flock"); err != nil {
		t.Skip("no flock program")
	}
	dir := t.TempDir()
	in := &install{spec: "host", hostBase: dir, nixBase: dir, gcLock: filepath.Join(dir, "gc.lock")}
	if err := os.WriteFile(in.gcLock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	try := []string{"flock", "--exclusive", "--nonblock", in.gcLock, "true"}
	if r := in.run(t.Context(), nil, try...); r.err == nil {
		t.Errorf("a command run by the suite could take the collector's lock: %s", r.describe())
	}
	if r := in.runBesideGC(t.Context(), nil, try...); r.err != nil {
		t.Errorf("the lock is still held after run: %s", r.describe())
	}
}
