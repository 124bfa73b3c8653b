package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/kwbauson/create-pin-refs/test/s3server"
)

// TestMeasureS3 runs the S3 section at a small size against versitygw: three
// rows, in order, the first and the changed republish uploading, and the
// unchanged republish reading its marker and writing nothing.
func TestMeasureS3(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the program and runs it")
	}
	if _, err := s3server.Binary(); err != nil {
		t.Skipf("no S3 server: %v", err)
	}
	bin := buildProgram(t)
	const n = 8
	rows, err := measureS3(context.Background(), bin, []int{n}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(s3Cases) {
		t.Fatalf("%d rows, want %d", len(rows), len(s3Cases))
	}
	for i, r := range rows {
		if r.pins != n || r.kind != s3Cases[i] || r.wall.wall <= 0 || r.calls["GET"] < 1 {
			t.Errorf("row %d: pins %d, kind %q, wall %s, requests %v", i, r.pins, r.kind, r.wall.wall, r.calls)
		}
		uploads := r.calls["PUT"] > 0
		if want := r.kind != "unchanged"; uploads != want || (r.uploaded > 0) != want {
			t.Errorf("%s: requests %v, %d bytes uploaded; want uploads: %v", r.kind, r.calls, r.uploaded, want)
		}
	}
	if first, changed := rows[0].calls["PUT"], rows[1].calls["PUT"]; changed >= first {
		t.Errorf("the republish with %d pins changed made %d PUTs, the first publish %d", s3Changed, changed, first)
	}
	var b strings.Builder
	writeS3(&b, rows, "")
	if got := strings.Count(b.String(), "\n| 8 |"); got != len(s3Cases) {
		t.Errorf("the section has %d rows of 8 pins, want %d:\n%s", got, len(s3Cases), b.String())
	}
}

// TestMeasureS3WithoutVersitygw: no versitygw is errNoVersitygw, which the
// bench reports as the section skipped.
func TestMeasureS3WithoutVersitygw(t *testing.T) {
	t.Setenv(s3server.EnvBinary, t.TempDir()+"/none")
	if _, err := measureS3(context.Background(), "unused", []int{8}, t.TempDir()); !errors.Is(err, errNoVersitygw) {
		t.Fatalf("got %v, want errNoVersitygw", err)
	}
}
