// Package nixlock keeps the tests that delete paths from the host's Nix store
// (the end-to-end suite) apart in time from every other test that runs the
// host's Nix, across packages and across concurrent `go test` processes.
//
// Why: `go test ./...` runs packages side by side, and several of them run the
// host's Nix (pkg/bundle and pkg/site evaluate bundles; test/e2e builds,
// deletes and substitutes packages). They share one store, one store
// database and one garbage collector. `nix-store --delete`, which the
// end-to-end suite needs so that only substitution can bring a pin back, is a
// garbage collection: it takes the store's GC lock and counts as roots the
// temporary roots of every Nix process and every store path found in any
// process's open files, memory maps or environment (/proc). A Nix command of
// another package that runs at that moment holds temporary roots on what it
// evaluates (the wrapper's env-manifest, written by builtins.toFile, has the
// same store path for every run) and waits on the lock, so the delete can
// fail ("still alive") or the other command can stall. The paths themselves
// are nonce'd per run; the store and its collector cannot be.
//
// A flock on one file in the temporary folder is the exclusion: the suite
// holds it exclusively while it runs, other tests hold it shared around each
// Nix command.
package nixlock

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// file is the lock, one per machine (the store is one per machine).
func file() string { return filepath.Join(os.TempDir(), "create-pin-refs-nix-store.lock") }

// Shared waits until no test is deleting from the store and keeps it so until
// the returned function is called.
func Shared(tb testing.TB) (unlock func()) { return lock(tb, syscall.LOCK_SH) }

// Exclusive waits until no other test runs the host's Nix and keeps it so
// until tb ends.
func Exclusive(tb testing.TB) {
	tb.Cleanup(lock(tb, syscall.LOCK_EX))
}

func lock(tb testing.TB, how int) func() {
	tb.Helper()
	f, err := os.OpenFile(file(), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		tb.Fatalf("opening the Nix store lock: %v", err)
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		tb.Fatalf("locking the Nix store lock: %v", err)
	}
	return func() { f.Close() } // closing the file releases the lock
}
