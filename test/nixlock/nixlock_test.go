package nixlock

import (
	"testing"
	"time"
)

// TestExclusiveWaitsForShared: an exclusive holder waits for shared ones, and
// shared holders do not wait for each other.
func TestExclusiveWaitsForShared(t *testing.T) {
	unlock1 := Shared(t)
	unlock2 := Shared(t) // does not block
	got := make(chan time.Time, 1)
	go t.Run("exclusive", func(t *testing.T) {
		Exclusive(t)
		got <- time.Now()
	})
	select {
	case <-got:
		t.Fatal("the exclusive lock was taken while shared locks were held")
	case <-time.After(200 * time.Millisecond):
	}
	unlock1()
	unlock2()
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the exclusive lock was never taken after the shared ones were released")
	}
}
