package main

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
)

// exchange is one request a loopback server answered, as its client saw
// it: sent at start (when the server read it; the path's half RTT before
// that is not modelled), answered at end (the server's answer plus the
// RTT its bytes take back).
type exchange struct {
	kind       string
	start, end time.Time
}

// stampedLog keeps what a process writes, each line with the time it
// arrived: where a run's wall time goes, next to its requests.
type stampedLog struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	partial []byte
	lines   []stampedLine
}

type stampedLine struct {
	at   time.Time
	text string
}

func (s *stampedLog) Write(p []byte) (int, error) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Write(p)
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		s.lines = append(s.lines, stampedLine{now, string(s.partial[:i])})
		s.partial = s.partial[i+1:]
	}
	return len(p), nil
}

func (s *stampedLog) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// timeline is one run: its log lines and the requests it made, from its
// start.
type timeline struct {
	start     time.Time
	lines     []stampedLine
	exchanges []exchange
}

// timelineBucket is the width of the in-flight histogram's columns.
const timelineBucket = 50 * time.Millisecond

// write shows the run as its log lines at their times, then, by kind of
// request, how many there were, when the first was sent and the last
// answered, how many were in flight at most, and how many were in flight
// at each timelineBucket (the walk keeps --concurrency in flight or not).
func (t timeline) write(w io.Writer) {
	at := func(x time.Time) string {
		return fmt.Sprintf("%6.0f ms", float64(x.Sub(t.start))/float64(time.Millisecond))
	}
	for _, l := range t.lines {
		fmt.Fprintf(w, "%s  %s\n", at(l.at), l.text)
	}
	byKind := map[string][]exchange{}
	var kinds []string
	for _, e := range t.exchanges {
		if _, ok := byKind[e.kind]; !ok {
			kinds = append(kinds, e.kind)
		}
		byKind[e.kind] = append(byKind[e.kind], e)
	}
	for _, k := range kinds {
		ex := byKind[k]
		first, last := ex[0].start, ex[0].end
		for _, e := range ex {
			if e.start.Before(first) {
				first = e.start
			}
			if e.end.After(last) {
				last = e.end
			}
		}
		fmt.Fprintf(w, "%s  %s: %d, first sent, last answered at %s, at most %d in flight\n",
			at(first), k, len(ex), strings.TrimSpace(at(last)), maxInFlight(ex))
		if len(ex) > 10 {
			fmt.Fprintf(w, "           in flight every %s from %s: %v\n", ms(timelineBucket), strings.TrimSpace(at(first)), inFlightEvery(ex, first, last, timelineBucket))
		}
	}
}

// maxInFlight is the most exchanges between their start and end at once.
func maxInFlight(ex []exchange) int {
	type edge struct {
		at time.Time
		d  int
	}
	edges := make([]edge, 0, 2*len(ex))
	for _, e := range ex {
		edges = append(edges, edge{e.start, 1}, edge{e.end, -1})
	}
	slices.SortFunc(edges, func(a, b edge) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.d - b.d // ends first
	})
	n, most := 0, 0
	for _, e := range edges {
		n += e.d
		most = max(most, n)
	}
	return most
}

// inFlightEvery is the exchanges in flight at from, from+step, … until to.
func inFlightEvery(ex []exchange, from, to time.Time, step time.Duration) []int {
	var out []int
	for x := from; !x.After(to) && len(out) < 1000; x = x.Add(step) {
		n := 0
		for _, e := range ex {
			if !e.start.After(x) && e.end.After(x) {
				n++
			}
		}
		out = append(out, n)
	}
	return out
}
