package action_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
)

// offsite is the proxy a runner's steps reach every host but loopback
// through (HTTPS_PROXY, HTTP_PROXY; Go never proxies loopback): it records
// the host asked for and refuses, so that a test never leaves the machine
// yet sees where the action would have gone, such as the default Pages site
// OWNER.github.io of a first publish.
type offsite struct {
	srv   *httptest.Server
	mu    sync.Mutex
	hosts []string // host:port, in the order asked
}

func startOffsite(t *testing.T) *offsite {
	t.Helper()
	o := &offsite{}
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host // CONNECT host:port, or the host of a plain http URL
		o.mu.Lock()
		o.hosts = append(o.hosts, host)
		o.mu.Unlock()
		http.Error(w, "the test runner has no network beyond loopback", http.StatusForbidden)
	}))
	t.Cleanup(o.srv.Close)
	return o
}

// env is what a step's environment needs to go through o.
func (o *offsite) env() []string {
	return []string{"HTTPS_PROXY=" + o.srv.URL, "HTTP_PROXY=" + o.srv.URL, "NO_PROXY="}
}

// asked reports whether a step asked o for host (host:port).
func (o *offsite) asked(host string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Contains(o.hosts, host)
}
