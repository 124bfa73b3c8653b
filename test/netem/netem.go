// Package netem puts a network path between loopback servers and their
// clients: a listener whose connections answer a round-trip time late and
// no faster than a bandwidth, so that a client on 127.0.0.1 waits as it
// would for a server 50 ms away. The benchmarks wrap every server they
// start with it (go run ./bench -rtt 50ms).
//
// The model. The bench owns only the server's side of each connection, so
// all of the delay is put there:
//
//   - A new connection carries nothing for Link.Handshakes round trips after
//     it was accepted (1: TCP's SYN, SYN-ACK; 2: TCP and TLS 1.3): the
//     server's first read waits until then. A real client's connect returns
//     after the handshake; here it returns at once, and the client's first
//     request waits for it instead, which is the same to a client that
//     writes as soon as it is connected (an HTTP client does).
//   - Whatever the server writes reaches the client one RTT after it was
//     written (and never before the handshake is over). Writes return at
//     once, as into the kernel's send buffer, and one goroutine per
//     connection delivers them in order at their times: an answer written in
//     pieces, pipelined answers and HTTP/2's frames each cost one RTT, not
//     one per write.
//   - The bytes of each direction pass no faster than Link.Bandwidth, shared
//     by all connections of the listener (one path to one host): the ones
//     the server writes are queued behind each other on the way out, the
//     ones it reads are handed to it no faster than that.
//
// A whole RTT on the way back, rather than half each way, gives a client the
// same time for every exchange it starts: a request and its answer cross the
// path once each way, and the client sees only the sum. What moves is when
// the server sees the request (half an RTT earlier), which no client can
// tell. The server's own time to answer adds to the RTT, as it does on a
// real path, the first request's included, since the server reads it only
// after the handshake.
//
// Not modelled: loss, jitter, TCP's slow start and receive windows (a
// transfer runs at Bandwidth from its first byte), and the client's own
// uplink queue: a request's bytes are timed by when the server reads them.
package netem

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Link is a network path: its round-trip time and bandwidth, and the round
// trips a connection costs before it carries data. The zero Link adds
// nothing.
type Link struct {
	RTT time.Duration
	// Bandwidth is each direction's, shared by the listener's connections;
	// 0 is unlimited.
	Bandwidth Bandwidth
	// Handshakes is the round trips before a new connection carries data;
	// 0 is 1 (TCP). HTTPS with TLS 1.3 takes 2.
	Handshakes int
}

// zero reports whether l adds nothing to a connection.
func (l Link) zero() bool { return l.RTT <= 0 && l.Bandwidth <= 0 }

func (l Link) handshake() time.Duration {
	if l.RTT <= 0 {
		return 0
	}
	return time.Duration(max(l.Handshakes, 1)) * l.RTT
}

// String is how a report names the link: "50 ms RTT (2 for a new
// connection), 10 MB/s".
func (l Link) String() string {
	if l.zero() {
		return "none"
	}
	s := fmt.Sprintf("%s RTT (%d for a new connection)", durationText(l.RTT), max(l.Handshakes, 1))
	if l.Bandwidth > 0 {
		s += ", " + l.Bandwidth.String()
	} else {
		s += ", bandwidth unlimited"
	}
	return s
}

func durationText(d time.Duration) string {
	if d%time.Millisecond == 0 {
		return fmt.Sprintf("%d ms", d/time.Millisecond)
	}
	return d.String()
}

// Bandwidth is bytes per second. As a flag.Value it reads a number and a
// unit: B, kB, MB, GB (bytes, powers of 1000), KiB, MiB, GiB, or kbit, Mbit,
// Gbit (bits), with or without "/s"; "0" is unlimited.
type Bandwidth int64

var bandwidthUnits = []struct {
	name  string
	bytes float64
}{
	{"Gbit", 1e9 / 8}, {"Mbit", 1e6 / 8}, {"kbit", 1e3 / 8}, {"bit", 1.0 / 8},
	{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
	{"GB", 1e9}, {"MB", 1e6}, {"kB", 1e3}, {"KB", 1e3}, {"B", 1},
}

// ParseBandwidth reads a bandwidth such as "100Mbit", "12.5 MB/s" or "0".
func ParseBandwidth(s string) (Bandwidth, error) {
	t := strings.TrimSuffix(strings.TrimSpace(s), "/s")
	mult := 0.0
	for _, u := range bandwidthUnits {
		if num, ok := strings.CutSuffix(t, u.name); ok {
			t, mult = strings.TrimSpace(num), u.bytes
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	switch {
	case err != nil || v < 0 || (mult == 0 && v != 0):
		return 0, fmt.Errorf("bandwidth %q: want a number and a unit, such as 100Mbit, 12.5MB/s or 0 for unlimited", s)
	case v > 0 && v*mult < 1:
		return 0, fmt.Errorf("bandwidth %q: less than a byte a second", s)
	}
	return Bandwidth(v * mult), nil
}

func (b *Bandwidth) Set(s string) error {
	v, err := ParseBandwidth(s)
	if err == nil {
		*b = v
	}
	return err
}

func (b Bandwidth) String() string {
	switch {
	case b <= 0:
		return "0"
	case b%125000 == 0:
		return fmt.Sprintf("%d Mbit/s", b/125000)
	default:
		return fmt.Sprintf("%d B/s", int64(b))
	}
}

// transmit is how long n bytes take at b.
func (b Bandwidth) transmit(n int) time.Duration {
	return time.Duration(float64(n) / float64(b) * float64(time.Second))
}

// clock is time as the connections see it; tests give a fake one.
type clock interface {
	Now() time.Time
	// At returns a channel that is closed at t, or already closed when t is
	// past.
	At(t time.Time) <-chan struct{}
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) At(t time.Time) <-chan struct{} {
	ch := make(chan struct{})
	d := time.Until(t)
	if d <= 0 {
		close(ch)
		return ch
	}
	time.AfterFunc(d, func() { close(ch) })
	return ch
}

// readSlack is how far behind its schedule the read side of a path may
// fall before a read waits: a server wakes late from each wait by a little,
// which would otherwise add up over a long upload.
const readSlack = 2 * time.Millisecond

// maxQueued is how many bytes a connection holds for delivery before Write
// blocks, as a full send buffer does.
const maxQueued = 8 << 20

// path is the state the connections of one listener share: when each
// direction is free again.
type path struct {
	mu       sync.Mutex
	up, down time.Time // when the bytes read, and written, so far are through
}

// reserve queues n bytes at b on the direction free, starting no earlier
// than from (nor than slack before it, if the path was idle), and returns
// when they are through.
func (p *path) reserve(free *time.Time, from time.Time, n int, b Bandwidth, slack time.Duration) time.Time {
	if b <= 0 {
		return from
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	start := from.Add(-slack)
	if free.After(start) {
		start = *free
	}
	*free = start.Add(b.transmit(n))
	return *free
}

// Listener accepts connections that behave as if over its Link.
type Listener struct {
	net.Listener
	link  Link
	clock clock
	path  path
	conns atomic.Int64
}

// Listen wraps inner: every connection it accepts is over link.
func Listen(inner net.Listener, link Link) *Listener {
	return listen(inner, link, realClock{})
}

func listen(inner net.Listener, link Link, c clock) *Listener {
	return &Listener{Listener: inner, link: link, clock: c}
}

// Conns is the number of connections accepted so far, each of which cost
// its client a handshake.
func (l *Listener) Conns() int64 { return l.conns.Load() }

// Link is the path the listener's connections are over.
func (l *Listener) Link() Link { return l.link }

// Accept waits for a connection; over a zero Link it is the inner
// listener's own.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.conns.Add(1)
	if l.link.zero() {
		return c, nil
	}
	return l.wrap(c), nil
}

func (l *Listener) wrap(inner net.Conn) *conn {
	c := &conn{Conn: inner, l: l, ready: l.clock.Now().Add(l.link.handshake()), done: make(chan struct{}), deadlineSet: make(chan struct{})}
	c.cond = sync.NewCond(&c.mu)
	go c.deliver()
	return c
}
