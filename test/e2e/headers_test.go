package e2e

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// serveWithHeaders serves dir on the loopback interface as Netlify and
// Cloudflare Pages serve a site: the headers that dir/_headers gives for a
// request's path are added to the answer. The file is read on every request,
// since a deploy replaces it. Its format: a path line (a final "*" matches any
// rest), then indented "Name: value" lines; "#" starts a comment line.
func serveWithHeaders(t *testing.T, dir string) string {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, h := range headersFor(filepath.Join(dir, "_headers"), r.URL.Path) {
			w.Header().Add(h[0], h[1])
		}
		files.ServeHTTP(w, r)
	}))
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

// headersFor returns the headers that the _headers file at file gives path.
func headersFor(file, path string) [][2]string {
	f, err := os.Open(file)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out [][2]string
	match := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "" || strings.HasPrefix(trimmed, "#"):
		case line[0] != ' ' && line[0] != '\t':
			prefix, splat := strings.CutSuffix(trimmed, "*")
			match = trimmed == path || splat && strings.HasPrefix(path, prefix)
		case match:
			if name, value, ok := strings.Cut(trimmed, ":"); ok {
				out = append(out, [2]string{strings.TrimSpace(name), strings.TrimSpace(value)})
			}
		}
	}
	return out
}

func TestHeadersFor(t *testing.T) {
	file := filepath.Join(t.TempDir(), "_headers")
	data := "# comment\n/pins\n  Link: <a>; rel=\"immutable\"\n/b/*\n  Cache-Control: immutable\n  X-Two: 2\n"
	if err := os.WriteFile(file, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{"/pins": 1, "/pins.tar.gz": 0, "/b/x.tar.gz": 2, "/bx": 0} {
		if got := headersFor(file, path); len(got) != want {
			t.Errorf("headersFor(%s) = %q, want %d headers", path, got, want)
		}
	}
}
