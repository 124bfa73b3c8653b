// Package nixlock keeps deletions from a Nix store (the end-to-end suite's)
// apart in time from every Nix command of every test, across packages and
// across concurrent `go test` processes.
//
// Why: `go test ./...` runs packages side by side, and several of them run the
// host's Nix (pkg/bundle and pkg/site evaluate bundles; test/e2e builds,
// deletes and substitutes packages). Their store paths and caches are their
// own (nonce'd names, a HOME per command), but the store, its database and its
// garbage collector are one per machine. `nix-store --delete`, which the
// suite needs so that only substitution can bring a pin back, runs the
// collector: it takes the store's GC lock and counts as alive the temporary
// roots of every Nix process and every store path that any process has open
// or mapped (/proc). A Nix command running at that moment can make the delete
// fail or wait, and paths every evaluation shares (the wrapper's env-manifest,
// written by builtins.toFile, has one store path for all runs) are held by
// whichever command is running.
//
// A flock on one file in the temporary folder is the exclusion: the suite
// holds it exclusively while it deletes (seconds at a time), and every Nix
// command of every test, the suite's own included, holds it shared.
package nixlock

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// file is the lock, one per machine (the store is one per machine).
func file() string { return filepath.Join(os.TempDir(), "create-pin-refs-nix-store.lock") }

// Shared waits until no test is deleting from the store, and keeps it so until
// unlock is called. Wrap each command that runs the host's Nix.
func Shared() (unlock func(), err error) { return lock(file(), syscall.LOCK_SH) }

// Exclusive waits until no test runs Nix, and keeps it so until unlock is
// called. Wrap each deletion from a store. A process that holds it must not
// ask for Shared meanwhile: the two would wait for each other.
func Exclusive() (unlock func(), err error) { return lock(file(), syscall.LOCK_EX) }

func lock(path string, how int) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, fmt.Errorf("opening the Nix store lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		return nil, fmt.Errorf("taking the Nix store lock: %w", err)
	}
	return func() { f.Close() }, nil // closing the file releases the lock
}
