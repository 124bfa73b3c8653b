package main

import (
	"strings"
	"testing"
	"time"
)

func TestMaxInFlight(t *testing.T) {
	at := func(ms int) time.Time { return time.Unix(0, 0).Add(time.Duration(ms) * time.Millisecond) }
	for _, tc := range []struct {
		name string
		ex   [][2]int // start, end in ms
		want int
	}{
		{"one", [][2]int{{0, 50}}, 1},
		{"in turn", [][2]int{{0, 50}, {50, 100}, {100, 150}}, 1},
		{"overlapping", [][2]int{{0, 50}, {10, 60}, {20, 70}, {60, 80}}, 3},
		{"nested", [][2]int{{0, 100}, {10, 20}, {30, 40}}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ex []exchange
			for _, e := range tc.ex {
				ex = append(ex, exchange{kind: "k", start: at(e[0]), end: at(e[1])})
			}
			if got := maxInFlight(ex); got != tc.want {
				t.Errorf("maxInFlight = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestStampedLogLines(t *testing.T) {
	var s stampedLog
	for _, w := range []string{"first li", "ne\nsecond\nthi", "rd\n", "unfinished"} {
		if _, err := s.Write([]byte(w)); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, l := range s.lines {
		got = append(got, l.text)
	}
	if strings.Join(got, "|") != "first line|second|third" {
		t.Errorf("lines %q", got)
	}
	if s.String() != "first line\nsecond\nthird\nunfinished" {
		t.Errorf("String() = %q", s.String())
	}
	tl := timeline{start: s.lines[0].at, lines: s.lines, exchanges: []exchange{{kind: "narinfo", start: s.lines[0].at, end: s.lines[0].at.Add(time.Second)}}}
	var out strings.Builder
	tl.write(&out)
	if !strings.Contains(out.String(), "narinfo: 1, first sent, last answered at 1000 ms, at most 1 in flight") {
		t.Errorf("timeline:\n%s", out.String())
	}
}
