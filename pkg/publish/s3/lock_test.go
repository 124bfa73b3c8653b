package s3

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kwbauson/create-pin-refs/pkg/s3bucket"
)

// TestLockWaits: a publish waits for the lock while its holder renews it,
// takes it once released, and, held for all of Wait, fails naming the
// holder.
func TestLockWaits(t *testing.T) {
	_, b, _ := bucketAt(t, "site")
	ctx := context.Background()
	lease := 300 * time.Millisecond
	a, err := Acquire(ctx, b, LockOptions{Holder: "run A", Lease: lease})
	if err != nil {
		t.Fatal(err)
	}
	// Renewed three times a lease, it is never taken over.
	_, err = Acquire(ctx, b, LockOptions{Holder: "run B", Lease: lease, Poll: testPoll, Wait: 4 * lease})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "run A (since ") {
		t.Fatalf("Acquire while held = %v, want ErrLocked naming run A", err)
	}
	var told []string
	var mu sync.Mutex
	go func() {
		time.Sleep(lease)
		if err := a.Release(ctx); err != nil {
			t.Error(err)
		}
	}()
	c, err := Acquire(ctx, b, LockOptions{Holder: "run C", Lease: lease, Poll: testPoll, Log: func(format string, args ...any) {
		mu.Lock()
		told = append(told, fmt.Sprintf(format, args...))
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release(ctx)
	mu.Lock()
	defer mu.Unlock()
	if c.tookOver || len(told) != 1 || !strings.HasPrefix(told[0], "notice: run A (since ") || !strings.Contains(told[0], "waiting until it is released (or, were that publish killed, unrenewed for 300ms)") {
		t.Errorf("after a release: took over %v, told %q; want taken, run A named once", c.tookOver, told)
	}
}

// TestLockTakeOver: a lock no longer renewed (its publish was killed
// halfway) is taken over after a lease, by a publish with nothing to write
// as by any other: it lists the prefix and writes again what the killed one
// left written over; the killed one's lock, renewed no more, is lost.
func TestLockTakeOver(t *testing.T) {
	srv, b, _ := bucketAt(t, "site")
	ctx := context.Background()
	files := siteOf("one")
	if _, err := Publish(ctx, b, Options{Files: files}); err != nil {
		t.Fatal(err)
	}
	lease := 300 * time.Millisecond
	killed, err := Acquire(ctx, b, LockOptions{Holder: "killed run", Lease: lease})
	if err != nil {
		t.Fatal(err)
	}
	close(killed.stop) // renewed no more, never released
	<-killed.done
	// It wrote pins.json, and stopped.
	if _, err := b.Put(ctx, "pins.json", []byte("half"), s3bucket.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	var logged []string
	start := time.Now()
	// The same site as the marker's: nothing to write, but for the lock
	// and an index.html read as changed by hand.
	previous := map[string][]byte{"index.html": []byte("changed by hand")}
	res, err := Publish(ctx, b, Options{Files: files, Previous: previous, LockOptions: LockOptions{Holder: "next run", Lease: lease, Poll: testPoll,
		Log: func(format string, args ...any) { logged = append(logged, fmt.Sprintf(format, args...)) }}})
	if err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < lease {
		t.Errorf("took the lock after %s, want after the lease (%s)", waited, lease)
	}
	if !res.Listed || len(res.Stale) != 1 || res.Stale[0] != "pins.json" || res.Put != 2 {
		t.Errorf("under a lock taken over: %+v, want pins.json listed stale, it and index.html written again", res)
	}
	if _, body := get(t, srv, "site/pins.json"); body != string(files["pins.json"]) {
		t.Errorf("pins.json = %q, want the site's", body)
	}
	if len(logged) != 2 || !strings.Contains(logged[1], "went unrenewed for 300ms: killed run (since ") || !strings.Contains(logged[1], "taken over, and the prefix is listed") {
		t.Errorf("logged %q, want the wait and the take-over", logged)
	}
	if !errors.Is(killed.Lost(), ErrLockLost) {
		t.Errorf("the killed run's Lost() = %v, want ErrLockLost", killed.Lost())
	}
	if resp, _ := get(t, srv, "site/"+LockName); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the lock after the publish: %s, want released", resp.Status)
	}
}

// TestLockLongDead: a lock written more than a lease ago by the server's
// clock (a job killed minutes before this run) is taken over at once, not
// after watching it for a lease.
func TestLockLongDead(t *testing.T) {
	_, b, _ := bucketAt(t, "site")
	ctx := context.Background()
	lease := time.Second
	killed, err := Acquire(ctx, b, LockOptions{Holder: "killed run", Lease: lease})
	if err != nil {
		t.Fatal(err)
	}
	close(killed.stop)
	<-killed.done
	time.Sleep(4 * time.Second) // Last-Modified and Date count whole seconds
	start := time.Now()
	l, err := Acquire(ctx, b, LockOptions{Holder: "next run", Lease: lease, Poll: testPoll})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(ctx)
	if waited := time.Since(start); !l.tookOver || waited >= lease {
		t.Errorf("took over %v after %s, want at once", l.tookOver, waited)
	}
}

// TestLockLost: a publish whose lock was taken over writes no more: its
// renewal finds another's lock, and the publish stops before its writes.
func TestLockLost(t *testing.T) {
	_, b, _ := bucketAt(t, "site")
	ctx := context.Background()
	if _, err := Publish(ctx, b, Options{Files: siteOf("one")}); err != nil {
		t.Fatal(err)
	}
	lease := 300 * time.Millisecond
	l, err := Acquire(ctx, b, LockOptions{Holder: "slow run", Lease: lease})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(ctx)
	base, err := ReadBase(ctx, b, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Put(ctx, LockName, []byte(`{"holder":"another run"}`), s3bucket.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100 && l.Lost() == nil; i++ {
		time.Sleep(lease / 10)
	}
	_, err = Publish(ctx, b, Options{Files: siteOf("two"), Base: base, Lock: l})
	if !errors.Is(err, ErrLockLost) {
		t.Fatalf("Publish under a lost lock = %v, want ErrLockLost", err)
	}
	for _, e := range mustList(t, b) {
		if e.Name == "b/two.tar.gz" {
			t.Errorf("%s written under a lost lock", e.Name)
		}
	}
	// Released, a lost lock is left to its new holder.
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if obj, err := b.Get(ctx, LockName, lockLimit); err != nil || !strings.Contains(string(obj.Body), "another run") {
		t.Errorf("the other's lock after the release: %q, %v", obj.Body, err)
	}
}
