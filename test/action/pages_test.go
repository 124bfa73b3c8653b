package action_test

import (
	"archive/tar"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/kwbauson/create-pin-refs/pkg/source/cachix"
)

// pagesSite plays GitHub Pages on 127.0.0.1: it serves the last artifact
// deployed.
type pagesSite struct {
	dir string
	url string // the site's base URL, ending in "/"
}

func startPagesSite(t *testing.T) *pagesSite {
	t.Helper()
	s := &pagesSite{dir: filepath.Join(t.TempDir(), "live")}
	srv := httptest.NewServer(http.StripPrefix("/site", http.FileServer(http.Dir(s.dir))))
	t.Cleanup(srv.Close)
	s.url = srv.URL + "/site/"
	return s
}

// deploy replaces the whole site with the artifact's files, as a deploy does.
func (s *pagesSite) deploy(t *testing.T, artifact string) {
	t.Helper()
	if err := os.RemoveAll(s.dir); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(artifact)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(s.dir, filepath.FromSlash(h.Name))
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRunnerPagesChanged: pages mode's output changed compares the site
// with the live one: true for a first publish, false for the same pins
// again, true once a pin moved. Each run deploys what it wrote.
func TestRunnerPagesChanged(t *testing.T) {
	f := startFakes(t)
	live := startPagesSite(t)
	r := f.runner(t)
	with := f.with(map[string]string{"pages-url": live.url})
	moved, err := cachix.ReadPinsFile(filepath.Join(root, "examples", "pins.json"))
	if err != nil {
		t.Fatal(err)
	}
	moved[0].LastRevision.StorePath = "/nix/store/0c9ipq2ysgsyfqsk2hcn2mc3r9r1fwm1-hello-2.13"
	for i, step := range []struct {
		name    string
		before  func()
		changed string
	}{
		{"first publish", func() {}, "true"},
		{"the same pins", func() {}, "false"},
		{"one pin moved", func() { f.cachix.SetPins(cacheName, moved) }, "true"},
	} {
		step.before()
		res := r.run(with)
		logStep(t, step.name, res)
		if res.code != 0 {
			t.Fatalf("step %d (%s): exit code %d, want 0", i, step.name, res.code)
		}
		checkOutputs(t, res.outputs, map[string]string{"changed": step.changed})
		live.deploy(t, filepath.Join(r.workspace, res.outputs["artifact-path"]))
	}
}
