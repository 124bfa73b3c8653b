package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kwbauson/create-pin-refs/bench/closures"
	"github.com/kwbauson/create-pin-refs/test/fakegithub"
	"github.com/kwbauson/create-pin-refs/test/netem"
)

// TestMeasureLatency runs the latency scenario end to end at a small size,
// at no RTT and at a small one, and checks each publish's requests by kind:
// every publish verifies, pages mode reads the live site once there is one,
// branch mode calls GitHub, and every server was reached, over HTTPS with
// HTTP/2, one connection a host.
func TestMeasureLatency(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the program and runs it")
	}
	if !fakegithub.HaveGit() {
		t.Skip("branch mode needs git")
	}
	bin := buildProgram(t)
	const n = 8
	rtts := []time.Duration{0, 2 * time.Millisecond}
	rows, err := measureLatency(context.Background(), bin, []int{n}, rtts, 1, netem.Link{Handshakes: 2}, protoH2, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(rtts) * (1 + len(latencyModes)*len(latencyCases)); len(rows) != want {
		t.Fatalf("%d rows, want %d", len(rows), want)
	}
	for _, r := range rows {
		k := r.served.byKind
		name := r.mode + "/" + r.publish + "/" + r.rtt.String()
		if r.pins != n || r.wall <= 0 || r.served.conns < 1 {
			t.Errorf("%s: pins %d, wall %s, %d connections", name, r.pins, r.wall, r.served.conns)
		}
		if r.mode == latencyOriginal {
			if k[kindPins] != 1 || r.requests != 1 {
				t.Errorf("%s: requests %v, want the pins alone", name, k)
			}
			continue
		}
		if k[kindInfo] != 1 || k[kindPins] != 1 {
			t.Errorf("%s: requests %v, want the cache's description and its pins once", name, k)
		}
		if r.publish == latencyCases[0] && k[kindNarinfo] < int64(r.paths) {
			t.Errorf("%s: %d narinfo requests, but the closures hold %d paths", name, k[kindNarinfo], r.paths)
		}
		if r.paths < n+closures.Base {
			t.Errorf("%s: %d closure paths for %d pins", name, r.paths, n)
		}
		if got := k[kindSite] > 0; got != (r.mode == "pages") {
			t.Errorf("%s: %d requests to the live site", name, k[kindSite])
		}
		if got := githubCalls(k) != ""; got != (r.mode == "branch") {
			t.Errorf("%s: GitHub API calls %q", name, githubCalls(k))
		}
		// Over HTTP/2 one connection a host: the Cachix API, asked for the
		// description and the pins at once, may take two; the binary cache,
		// the live site and GitHub one each.
		if r.served.conns > 4 {
			t.Errorf("%s: %d connections over HTTP/2, want one a host", name, r.served.conns)
		}
	}
	var b strings.Builder
	latencyReport{rows: rows, link: netem.Link{Handshakes: 2}, proto: protoH2, runs: 1}.write(&b)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^\| 8 \| 2 ms \| original: curl \\\| jq; tar czf \| any \| \d+ ms \|  \| \d+ ms \| 0 \+ 1 \| 0 \| 0 \|  \| 1 \|$`),
		regexp.MustCompile(`(?m)^\| 8 \| 2 ms \| pages \| 1 % moved \| \d+ ms \| [\d.]+× \| \d+ ms \| 1 \+ 1 \| [\d,]+ \([\d,]+\) \| [1-9]\d* \|  \| \d+ \|$`),
		regexp.MustCompile(`(?m)^\| 8 \| 0 ms \| branch \| first publish \| .* \| \d+: GET ref 1, .*POST commit 1, .* \| \d+ \|$`),
		regexp.MustCompile(`(?m)^\| 8 \| 0 ms \| dir \| unchanged \| `),
		regexp.MustCompile("The servers speak HTTPS and offer HTTP/2"),
	} {
		if !want.MatchString(b.String()) {
			t.Errorf("section lacks %s:\n%s", want, b.String())
		}
	}
}

// TestLatencyPins: 1 % of the pins (at least one) move, to paths the cache
// holds with their closures; the others stay.
func TestLatencyPins(t *testing.T) {
	for _, tt := range []struct{ n, moved int }{{8, 1}, {100, 1}, {1000, 10}} {
		first, moved, cache := latencyPins(tt.n)
		if len(first) != tt.n || len(moved) != tt.n {
			t.Fatalf("n=%d: %d and %d pins", tt.n, len(first), len(moved))
		}
		diff := 0
		for i := range first {
			if first[i].Name != moved[i].Name {
				t.Fatalf("n=%d: pin %d renamed", tt.n, i)
			}
			if first[i].LastRevision.StorePath != moved[i].LastRevision.StorePath {
				diff++
				if moved[i].LastRevision.Revision != first[i].LastRevision.Revision+1 {
					t.Errorf("n=%d: moved pin %d kept its revision", tt.n, i)
				}
				p := moved[i].LastRevision.StorePath
				if cache.Reachable([]string{p}) < 2 {
					t.Errorf("n=%d: moved pin %d's path %s has no closure in the cache", tt.n, i, p)
				}
			}
		}
		if diff != tt.moved {
			t.Errorf("n=%d: %d pins moved, want %d", tt.n, diff, tt.moved)
		}
	}
}

// TestReplaceLatency: -only latency puts the new section in place of the
// old one (or before Consumer), and one note under the header, never two.
func TestReplaceLatency(t *testing.T) {
	const head = "# Benchmarks\n\nWritten by `go run ./bench -runs 5 -o BENCHMARKS.md` (never by hand) on D, in 3m.\n\nMachine: M.\n\n"
	note := latencyNote + "`go run ./bench -only latency` on E."
	const section = "## Latency\n\nnew table\n\n"
	for _, tt := range []struct{ name, doc, want string }{
		{"no section yet",
			head + "## Branch publish\n\nb\n\n## Consumer\n\nc\n",
			strings.Replace(head, "\n\nMachine", "\n\n"+note+"\n\nMachine", 1) + "## Branch publish\n\nb\n\n" + section + "## Consumer\n\nc\n"},
		{"a section and a note",
			strings.Replace(head, "\n\nMachine", "\n\n"+latencyNote+"`old` on F.\n\nMachine", 1) + "## Latency\n\nold table\n\n## Consumer\n\nc\n",
			strings.Replace(head, "\n\nMachine", "\n\n"+note+"\n\nMachine", 1) + section + "## Consumer\n\nc\n"},
		{"the section last",
			head + "## Latency\n\nold table\n",
			strings.Replace(head, "\n\nMachine", "\n\n"+note+"\n\nMachine", 1) + section},
		{"neither section nor Consumer",
			head + "## Producer\n\np\n",
			strings.Replace(head, "\n\nMachine", "\n\n"+note+"\n\nMachine", 1) + "## Producer\n\np\n\n" + section},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := replaceSection(tt.doc, latencyTitle, section, note)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
	if _, err := replaceSection("# Notes\n\nsomething else\n", latencyTitle, section, note); err == nil {
		t.Error("a file the bench did not write was rewritten")
	}
}

// TestRunOptions: options that cannot work are refused before anything is
// built or run.
func TestRunOptions(t *testing.T) {
	ok := options{sizes: "8", runs: 1, handshakes: 2, latencyRuns: 1}
	for _, tt := range []struct {
		name string
		edit func(*options)
		want string
	}{
		{"-only other", func(o *options) { o.only = "producer" }, `-only "producer"`},
		{"-only latency without -o", func(o *options) { o.only, o.latencySizes, o.latencyRTTs = onlyLatency, "100", "0" }, "give -o"},
		{"-only latency without sizes", func(o *options) { o.only, o.out = onlyLatency, "BENCHMARKS.md" }, "give -o"},
		{"a bad RTT", func(o *options) { o.latencySizes, o.latencyRTTs = "100", "0,fast" }, `-latency-rtt: "fast"`},
		{"a negative RTT", func(o *options) { o.rtt = -time.Millisecond }, "-rtt must not be negative"},
		{"no handshake", func(o *options) { o.handshakes = 0 }, "-handshakes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := ok
			tt.edit(&o)
			err := run(context.Background(), o, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
}
