package netem

import (
	"net"
	"os"
	"sync"
	"time"
)

// chunk is one write, due at the client at due.
type chunk struct {
	data []byte
	due  time.Time
}

// conn is the server's side of a connection over the listener's link.
type conn struct {
	net.Conn
	l     *Listener
	ready time.Time // the handshake is over
	done  chan struct{}

	mu     sync.Mutex
	cond   *sync.Cond // the queue or the state below changed
	queue  []chunk
	queued int
	closed bool
	werr   error // the first failed delivery: every later Write fails with it
	// readDeadline and deadlineSet (closed and replaced by each change) let
	// a read waiting for the handshake stop at its deadline.
	readDeadline time.Time
	deadlineSet  chan struct{}
	closeOnce    sync.Once
}

// Read waits for the handshake, then reads, at most at the link's
// bandwidth.
func (c *conn) Read(p []byte) (int, error) {
	if err := c.waitReady(); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(p)
	if c.isClosed() {
		return 0, net.ErrClosed
	}
	if n > 0 {
		// The bytes are in hand: this wait is not cut short by a deadline,
		// so that none are lost; it is at most what the path has queued.
		<-c.l.clock.At(c.l.path.reserve(&c.l.path.up, c.l.clock.Now(), n, c.l.link.Bandwidth, readSlack))
	}
	return n, err
}

// waitReady returns once the handshake is over, or with the error a read
// gets: the connection closed, or its read deadline passed.
func (c *conn) waitReady() error {
	for {
		c.mu.Lock()
		closed, deadline, changed := c.closed, c.readDeadline, c.deadlineSet
		c.mu.Unlock()
		if closed {
			return net.ErrClosed
		}
		if !c.l.clock.Now().Before(c.ready) {
			return nil
		}
		var expired <-chan time.Time
		if !deadline.IsZero() {
			d := time.Until(deadline) // deadlines are wall-clock times
			if d <= 0 {
				return os.ErrDeadlineExceeded
			}
			expired = time.After(d)
		}
		select {
		case <-c.l.clock.At(c.ready):
			return nil
		case <-expired:
			return os.ErrDeadlineExceeded
		case <-changed:
		case <-c.done:
		}
	}
}

func (c *conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Write queues a copy of p for delivery one RTT from now (from the
// handshake's end, if sooner), behind what the path already carries, and
// returns; it blocks only while maxQueued bytes wait.
func (c *conn) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for !c.closed && c.werr == nil && c.queued >= maxQueued {
		c.cond.Wait()
	}
	switch {
	case c.closed:
		return 0, net.ErrClosed
	case c.werr != nil:
		return 0, c.werr
	}
	from := c.l.clock.Now()
	if from.Before(c.ready) {
		from = c.ready
	}
	sent := c.l.path.reserve(&c.l.path.down, from, len(p), c.l.link.Bandwidth, 0)
	c.queue = append(c.queue, chunk{data: append([]byte(nil), p...), due: sent.Add(c.l.link.RTT)})
	c.queued += len(p)
	c.cond.Broadcast()
	return len(p), nil
}

// deliver writes each queued chunk to the client at its time, in order;
// once the connection is closed and its queue delivered (or a delivery
// failed), it closes the inner connection.
func (c *conn) deliver() {
	defer c.Conn.Close()
	for {
		c.mu.Lock()
		for len(c.queue) == 0 && !c.closed && c.werr == nil {
			c.cond.Wait()
		}
		if len(c.queue) == 0 || c.werr != nil {
			c.mu.Unlock()
			return
		}
		next := c.queue[0]
		c.mu.Unlock()
		<-c.l.clock.At(next.due)
		_, err := c.Conn.Write(next.data)
		c.mu.Lock()
		c.queue = c.queue[1:]
		c.queued -= len(next.data)
		if err != nil {
			c.werr = err
		}
		c.cond.Broadcast()
		c.mu.Unlock()
	}
}

// Close returns at once, as closing a socket does: what was written still
// reaches the client at its time, then the connection ends. A pending Read
// returns net.ErrClosed.
func (c *conn) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.cond.Broadcast()
		c.mu.Unlock()
		close(c.done)
		// Wakes a Read blocked in the inner connection; writes go on.
		_ = c.Conn.SetReadDeadline(time.Unix(1, 0))
	})
	return nil
}

func (c *conn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.Conn.SetWriteDeadline(t)
}

func (c *conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return net.ErrClosed
	}
	c.readDeadline = t
	close(c.deadlineSet)
	c.deadlineSet = make(chan struct{})
	return c.Conn.SetReadDeadline(t)
}
