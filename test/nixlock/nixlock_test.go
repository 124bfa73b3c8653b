package nixlock

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestExclusiveWaitsForShared: an exclusive holder waits for shared ones, and
// shared holders do not wait for each other. It locks a file of its own: the
// machine's lock is in use by whatever tests run meanwhile.
func TestExclusiveWaitsForShared(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	var unlocks []func()
	for range 2 {
		unlock, err := lock(path, syscall.LOCK_SH) // the second does not wait for the first
		if err != nil {
			t.Fatal(err)
		}
		unlocks = append(unlocks, unlock)
	}
	got := make(chan error, 1)
	go func() {
		unlock, err := lock(path, syscall.LOCK_EX)
		if err == nil {
			unlock()
		}
		got <- err
	}()
	select {
	case <-got:
		t.Fatal("the exclusive lock was taken while shared locks were held")
	case <-time.After(200 * time.Millisecond):
	}
	for _, u := range unlocks {
		u()
	}
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the exclusive lock was never taken after the shared ones were released")
	}
}
