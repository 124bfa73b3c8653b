package s3

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/kwbauson/create-pin-refs/pkg/s3bucket"
)

// LockName is the object a publish holds while it writes the prefix. The
// marker's If-Match guards the marker alone: S3 has no transaction over
// many objects, so two publishes writing at once would each leave some of
// their objects under the other's marker. Under the lock one writes at a
// time; the others wait, then find the marker changed and read the pins
// again. A publish that has nothing to write never takes it.
const LockName = ".create-pin-refs.lock"

// LockOptions say how a publish waits for the lock and holds it.
type LockOptions struct {
	// Holder names this publish in the lock, for the messages of the ones
	// that wait for it (a CI run's URL, a host and process).
	Holder string
	// Lease is how long a lock stands unrenewed before a waiting publish
	// takes it over (0: 1 minute); its holder renews it every third of
	// that. A holder that stopped renewing was cancelled or crashed.
	Lease time.Duration
	// Poll is how often a waiting publish reads the lock (0: 1 s).
	Poll time.Duration
	// Wait bounds the wait for a lock that its holder keeps renewing (0:
	// 15 minutes).
	Wait time.Duration
	// Log, if set, is told when the publish waits for the lock, and when
	// it takes it over.
	Log func(format string, args ...any)
}

func (o LockOptions) logf(format string, args ...any) {
	if o.Log != nil {
		o.Log(format, args...)
	}
}

func (o LockOptions) lease() time.Duration { return orDefault(o.Lease, time.Minute) }
func (o LockOptions) poll() time.Duration  { return orDefault(o.Poll, time.Second) }
func (o LockOptions) wait() time.Duration  { return orDefault(o.Wait, 15*time.Minute) }

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// ErrLocked is a lock held, and renewed, for all of LockOptions.Wait. Test
// for it with errors.Is.
var ErrLocked = errors.New("another publish holds the prefix's lock")

// ErrLockLost is a lock taken over by another publish while this one held
// it: this one went unrenewed for a whole lease (stalled, or cut off from
// the server). Test for it with errors.Is.
var ErrLockLost = errors.New("another publish took over this publish's lock on the prefix (it went unrenewed for a whole lease)")

// lockLimit bounds the read of a lock: a few hundred bytes of JSON.
const lockLimit = 64 << 10

// lockBody is the content of LockName.
type lockBody struct {
	Generator string    `json:"generator"`
	Holder    string    `json:"holder"`
	Since     time.Time `json:"since"`
	Lease     string    `json:"lease"`
	// Renewed counts the renewals: each one changes the ETag, which is all
	// a waiting publish looks at (no clocks compared).
	Renewed int    `json:"renewed"`
	Nonce   string `json:"nonce"`
}

func (l *lockBody) encode() []byte {
	data, _ := json.Marshal(l) // of strings, a time and an int: never fails
	return data
}

// Lock is a publish's hold on the prefix's lock, renewed until Released.
type Lock struct {
	b    Bucket
	o    LockOptions
	body lockBody

	mu      sync.Mutex
	etag    string
	renewed time.Time // the last renewal answered
	lost    error

	// tookOver: the lock was taken from a holder that stopped renewing it,
	// maybe halfway through its writes; the first publish under it lists
	// the prefix to write again whatever does not hold what the marker
	// says.
	tookOver bool
	checked  bool
	stop     chan struct{}
	done     chan struct{}
}

// Acquire takes the prefix's lock: at once if no publish holds it, else
// once its holder releases it, or stops renewing it for a whole lease (then
// it is taken over: seen unchanged for a lease, or last written more than a
// lease before, by the server's clock). A lock renewed for all of o.Wait is ErrLocked, naming
// its holder.
func Acquire(ctx context.Context, b Bucket, o LockOptions) (*Lock, error) {
	nonce := make([]byte, 8)
	_, _ = rand.Read(nonce) // never fails
	l := &Lock{b: b, o: o, body: lockBody{Generator: generator, Holder: o.Holder, Since: time.Now().UTC().Truncate(time.Second), Lease: o.lease().String(), Nonce: hex.EncodeToString(nonce)}}
	deadline := time.Now().Add(o.wait())
	var (
		seen   string    // the ETag of the lock last read
		seenAt time.Time // when it was first read with that ETag
		held   lockBody  // its content
		told   bool
	)
	for {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%w: %s at %s, renewed all the %s this publish waited: run this job again once it is done, or publish from one job",
				ErrLocked, held.describe(), b, o.wait())
		}
		etag, err := b.Put(ctx, LockName, l.body.encode(), lockPut(s3bucket.PutOptions{IfNoneMatch: "*"}))
		if err == nil {
			return l.hold(etag), nil
		}
		if !errors.Is(err, s3bucket.ErrPrecondition) {
			return nil, fmt.Errorf("taking the lock %s of %s: %w", LockName, b, err)
		}
		obj, err := b.Get(ctx, LockName, lockLimit)
		switch {
		case errors.Is(err, s3bucket.ErrNotFound):
			continue // released meanwhile: take it
		case err != nil:
			return nil, fmt.Errorf("reading the lock %s of %s: %w", LockName, b, err)
		}
		if obj.ETag != seen {
			seen, seenAt = obj.ETag, time.Now()
			held = lockBody{}
			_ = json.Unmarshal(obj.Body, &held) // a body not ours still locks
			if !told {
				o.logf("notice: %s holds the lock %s of %s: waiting until it is released (or, were that publish killed, unrenewed for %s)", held.describe(), LockName, b, o.lease())
				told = true
			}
		}
		lease := o.lease()
		if d, err := time.ParseDuration(held.Lease); err == nil && d > lease {
			lease = d // the holder's word on how often it renews
		}
		// Unrenewed for a lease: seen so for that long, or by the server's
		// clock at once (written that long before it answered; its clock
		// against itself, whole seconds apart), as after a job killed minutes
		// before this run.
		dead := time.Since(seenAt) >= lease ||
			!obj.Date.IsZero() && !obj.LastModified.IsZero() && obj.Date.Sub(obj.LastModified) >= lease+2*time.Second
		if dead {
			etag, err := b.Put(ctx, LockName, l.body.encode(), lockPut(s3bucket.PutOptions{IfMatch: seen}))
			switch {
			case err == nil:
				l.tookOver = true
				o.logf("notice: the lock %s of %s went unrenewed for %s: %s stopped midway; taken over, and the prefix is listed to write again whatever was left half written", LockName, b, lease, held.describe())
				return l.hold(etag), nil
			case errors.Is(err, s3bucket.ErrPrecondition), errors.Is(err, s3bucket.ErrNotFound):
				continue // another waiting publish took it, or it was released
			default:
				return nil, fmt.Errorf("taking over the lock %s of %s: %w", LockName, b, err)
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the lock %s of %s: %w", LockName, b, context.Cause(ctx))
		case <-time.After(o.poll()):
		}
	}
}

// describe names a lock's holder for messages.
func (l lockBody) describe() string {
	who := l.Holder
	if who == "" {
		who = "a publish"
	}
	if !l.Since.IsZero() {
		who += " (since " + l.Since.Format(time.RFC3339) + ")"
	}
	return who
}

func lockPut(o s3bucket.PutOptions) s3bucket.PutOptions {
	o.ContentType, o.CacheControl = "application/json", "no-store"
	return o
}

// hold starts renewing the lock taken with etag.
func (l *Lock) hold(etag string) *Lock {
	l.etag, l.renewed = etag, time.Now()
	l.stop, l.done = make(chan struct{}), make(chan struct{})
	go l.renew()
	return l
}

// renew writes the lock again every third of its lease, over the ETag it
// holds, until Release. A write refused says another publish took it over;
// renewals failing for a whole lease say it may have: either way the lock
// is lost, and the publish stops before its next write.
func (l *Lock) renew() {
	defer close(l.done)
	tick := time.NewTicker(l.o.lease() / 3)
	defer tick.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-tick.C:
		}
		l.mu.Lock()
		l.body.Renewed++
		body, etag := l.body.encode(), l.etag
		l.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), l.o.lease()/3)
		next, err := l.b.Put(ctx, LockName, body, lockPut(s3bucket.PutOptions{IfMatch: etag}))
		cancel()
		l.mu.Lock()
		switch {
		case err == nil:
			l.etag, l.renewed = next, time.Now()
		case errors.Is(err, s3bucket.ErrPrecondition), errors.Is(err, s3bucket.ErrNotFound):
			l.lost = fmt.Errorf("%w: renewing %s of %s: %w", ErrLockLost, LockName, l.b, err)
		case time.Since(l.renewed) >= l.o.lease():
			l.lost = fmt.Errorf("%w: renewing %s of %s failed for %s: %w", ErrLockLost, LockName, l.b, l.o.lease(), err)
		}
		lost := l.lost != nil
		l.mu.Unlock()
		if lost {
			return
		}
	}
}

// Lost is ErrLockLost once the lock may be another publish's, else nil
// (and nil for no lock).
func (l *Lock) Lost() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost == nil && time.Since(l.renewed) >= l.o.lease() {
		// Unrenewed for a lease, whatever the renewals say by now.
		return fmt.Errorf("%w: unrenewed for %s", ErrLockLost, l.o.lease())
	}
	return l.lost
}

// Release stops renewing the lock and deletes it, unless it was lost; a
// nil Lock is none to release. It runs even when ctx is done: a cancelled
// publish should not leave the others waiting a whole lease.
func (l *Lock) Release(ctx context.Context) error {
	if l == nil || l.stop == nil {
		return nil
	}
	select {
	case <-l.stop:
		return nil // released before
	default:
	}
	close(l.stop)
	<-l.done
	if l.Lost() != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTime)
	defer cancel()
	if err := l.b.Delete(ctx, LockName); err != nil {
		return fmt.Errorf("releasing the lock %s of %s (the next publish takes it over after %s): %w", LockName, l.b, l.o.lease(), err)
	}
	return nil
}

// lockHeld says whether the prefix's lock is there.
func lockHeld(ctx context.Context, b Bucket) (bool, error) {
	_, err := b.Head(ctx, LockName)
	switch {
	case errors.Is(err, s3bucket.ErrNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("reading the lock %s of %s: %w", LockName, b, err)
	}
	return true, nil
}

// mustCheck says, once, that the lock was taken over: the publish under it
// lists the prefix, as Options.Check does.
func (l *Lock) mustCheck() bool {
	if l == nil || !l.tookOver || l.checked {
		return false
	}
	l.checked = true
	return true
}

// lockFor takes the prefix's lock for a publish made on the marker of
// etag, and reads the marker's ETag again under it: a publish that held
// the lock meanwhile is a lost race (ErrRaced), the lock released.
func lockFor(ctx context.Context, b Bucket, o LockOptions, etag string) (*Lock, error) {
	lock, err := Acquire(ctx, b, o)
	if err != nil {
		return nil, err
	}
	obj, err := b.Head(ctx, MarkerName)
	// Quoted or not: servers differ between a PUT's answer and a HEAD's.
	if err == nil && strings.Trim(obj.ETag, `"`) == strings.Trim(etag, `"`) {
		return lock, nil
	}
	if rerr := lock.Release(ctx); rerr != nil && err == nil {
		err = rerr
	}
	switch {
	case err == nil, errors.Is(err, s3bucket.ErrNotFound):
		return nil, fmt.Errorf("%w: %s changed while this publish waited for the lock", ErrRaced, MarkerName)
	}
	return nil, fmt.Errorf("reading %s again under the lock: %w", MarkerName, err)
}

// stopped is the lock's loss, which ends a publish before its next write:
// the publish that took it over is writing the prefix, and lists it first.
func stopped(lock *Lock) error {
	if err := lock.Lost(); err != nil {
		return fmt.Errorf("%w; this publish stopped writing, and the one that took over writes again whatever does not hold what the marker lists", err)
	}
	return nil
}
