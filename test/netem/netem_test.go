package netem

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock moves only when the test moves it, and records the latest time
// anything waited for: that is when the last byte was due, read from the
// clock, never from timing. Waits return at once, so nothing a connection's
// own goroutine does moves the time a test's next write is stamped with.
type fakeClock struct {
	mu          sync.Mutex
	now, latest time.Time
}

var epoch = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) At(t time.Time) <-chan struct{} {
	f.mu.Lock()
	if t.After(f.latest) {
		f.latest = t
	}
	f.mu.Unlock()
	ch := make(chan struct{})
	close(ch)
	return ch
}

// waited is the latest time waited for, since the epoch.
func (f *fakeClock) waited() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.latest.Sub(epoch)
}

// catchUp moves the clock to the latest time waited for: what was due has
// happened.
func (f *fakeClock) catchUp() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.latest
}

// pair returns a listener over link on a fake clock, a client connection
// and the server's side of it.
func pair(t *testing.T, l *Listener) (client, server net.Conn) {
	t.Helper()
	client, err := net.Dial("tcp4", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err = l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	return client, server
}

func fakeListener(t *testing.T, link Link) (*Listener, *fakeClock) {
	t.Helper()
	inner, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inner.Close() })
	clk := &fakeClock{now: epoch}
	return listen(inner, link, clk), clk
}

func readN(t *testing.T, c net.Conn, n int) []byte {
	t.Helper()
	buf := make([]byte, n)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("reading %d bytes: %v", n, err)
	}
	return buf
}

// TestExchange: on a new connection the request reaches the server after
// the handshake, and the answer, written in pieces, reaches the client one
// RTT after it was written; a second exchange on the kept connection costs
// one RTT.
func TestExchange(t *testing.T) {
	const rtt = 50 * time.Millisecond
	for _, tt := range []struct {
		name       string
		handshakes int
		wantRead   time.Duration // when the server has the first request
	}{
		{"TCP (zero value)", 0, rtt},
		{"TCP", 1, rtt},
		{"TCP and TLS 1.3", 2, 2 * rtt},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l, clk := fakeListener(t, Link{RTT: rtt, Handshakes: tt.handshakes})
			client, server := pair(t, l)
			for round, want := range []time.Duration{tt.wantRead, tt.wantRead + rtt} {
				if _, err := client.Write([]byte("GET")); err != nil {
					t.Fatal(err)
				}
				if got := string(readN(t, server, 3)); got != "GET" {
					t.Fatalf("server read %q", got)
				}
				if round == 0 && clk.waited() != want {
					t.Errorf("the server read the first request at %s, want %s (the handshake)", clk.waited(), want)
				}
				clk.catchUp()
				// Head and body, as an HTTP server writes them: the
				// answer takes one RTT, not one per write.
				for _, part := range []string{"head", "body"} {
					if _, err := server.Write([]byte(part)); err != nil {
						t.Fatal(err)
					}
				}
				if got := string(readN(t, client, 8)); got != "headbody" {
					t.Fatalf("client read %q", got)
				}
				if got := clk.waited(); got != want+rtt {
					t.Errorf("round %d: the answer arrived at %s, want %s", round, got, want+rtt)
				}
				clk.catchUp()
			}
			if l.Conns() != 1 {
				t.Errorf("%d connections counted, want 1", l.Conns())
			}
		})
	}
}

// TestBandwidth: the bytes the server writes share the listener's
// bandwidth: two connections' answers at once take twice as long as one;
// what the server reads comes at the bandwidth too.
func TestBandwidth(t *testing.T) {
	const rtt = 10 * time.Millisecond
	const bw = Bandwidth(1 << 20) // 1 MiB/s: 64 KiB take 62.5 ms
	const size = 64 << 10
	transfer := time.Second * size / (1 << 20)

	l, clk := fakeListener(t, Link{RTT: rtt, Bandwidth: bw})
	c1, s1 := pair(t, l)
	c2, s2 := pair(t, l)
	clk.At(epoch.Add(rtt)) // both handshakes are over
	clk.catchUp()
	data := make([]byte, size)
	for _, s := range []net.Conn{s1, s2} {
		if _, err := s.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	readN(t, c1, size)
	readN(t, c2, size)
	if got, want := clk.waited(), rtt+2*transfer+rtt; got != want {
		t.Errorf("two answers of %d bytes at %s arrived by %s, want %s (one after the other, then the RTT)", size, bw, got, want)
	}

	clk.catchUp()
	start := clk.waited()
	go func() { _, _ = c1.Write(data) }()
	readN(t, s1, size)
	// The link was busy until the answers were through; the upload's last
	// bytes may be up to readSlack early.
	if got := clk.waited() - start; got < transfer-readSlack || got > transfer {
		t.Errorf("reading %d bytes at %s took %s, want %s", size, bw, got, transfer)
	}
}

// TestCloseDelivers: closing the server's side returns at once, the client
// still receives what was written, then the end of the stream.
func TestCloseDelivers(t *testing.T) {
	const rtt = 20 * time.Millisecond
	l, clk := fakeListener(t, Link{RTT: rtt})
	client, server := pair(t, l)
	if _, err := server.Write([]byte("bye")); err != nil {
		t.Fatal(err)
	}
	if err := server.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := server.Write([]byte("more")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close: %v, want net.ErrClosed", err)
	}
	if _, err := server.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read after Close: %v, want net.ErrClosed", err)
	}
	got, err := io.ReadAll(client)
	if err != nil || string(got) != "bye" {
		t.Errorf("client read %q, %v; want \"bye\" and the end", got, err)
	}
	if clk.waited() != 2*rtt {
		t.Errorf("delivered at %s, want %s", clk.waited(), 2*rtt)
	}
}

// TestReadDeadline: a read waiting for the handshake stops at its deadline,
// as net/http's server needs to abort a pending read.
func TestReadDeadline(t *testing.T) {
	inner, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	l := Listen(inner, Link{RTT: time.Hour})
	_, server := pair(t, l)
	if err := server.SetReadDeadline(time.Unix(1, 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := server.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Read: %v, want os.ErrDeadlineExceeded", err)
	}
}

// TestZeroLink: a zero Link hands out the inner connections, and counts them.
func TestZeroLink(t *testing.T) {
	l, _ := fakeListener(t, Link{})
	_, server := pair(t, l)
	if _, ok := server.(*conn); ok {
		t.Error("a zero link wrapped the connection")
	}
	if l.Conns() != 1 {
		t.Errorf("%d connections counted, want 1", l.Conns())
	}
}

// TestHTTP runs net/http on both sides over a real clock: a first request
// costs at least the handshake and the exchange, a second on the kept
// connection at least the exchange. Only lower bounds: a loaded machine
// only adds.
func TestHTTP(t *testing.T) {
	const rtt = 15 * time.Millisecond
	inner, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := Listen(inner, Link{RTT: rtt})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, strings.Repeat("x", 100<<10))
	})}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{}}
	for i, least := range []time.Duration{2 * rtt, rtt} {
		start := time.Now()
		resp, err := client.Post("http://"+l.Addr().String()+"/", "text/plain", strings.NewReader("hello"))
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, bufio.NewReader(resp.Body))
		resp.Body.Close()
		if err != nil || n != 100<<10 {
			t.Fatalf("request %d: read %d bytes, %v", i, n, err)
		}
		if took := time.Since(start); took < least {
			t.Errorf("request %d took %s, less than %s", i, took, least)
		}
	}
	if l.Conns() != 1 {
		t.Errorf("%d connections, want 1 (kept alive)", l.Conns())
	}
}

func TestParseBandwidth(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Bandwidth
		err  bool
	}{
		{"0", 0, false},
		{"100Mbit", 12_500_000, false},
		{"100 Mbit/s", 12_500_000, false},
		{"12.5MB/s", 12_500_000, false},
		{"1MiB", 1 << 20, false},
		{"64kbit", 8000, false},
		{"500B", 500, false},
		{"100", 0, true}, // a unit is needed
		{"-1MB", 0, true},
		{"fast", 0, true},
		{"1bit", 0, true}, // under a byte a second
	} {
		got, err := ParseBandwidth(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseBandwidth(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}
