package narinfo

import (
	"io"
	"net/http"
	"net/http/httptrace"
	"sync"
)

// NewTransport is a transport for narinfo reads with at most concurrency
// requests in flight, whoever makes them (a walk and the spot checks
// beside it): HTTP/2 where the server offers it (a clone of Go's default
// transport, which asks for it), else as many kept-alive HTTP/1.1
// connections per host, never more, so that a request waiting for one
// that is about to be free does not dial another. Up to 100, the streams
// Go opens on a connection before the server has said how many it takes,
// they fit on one.
//
// Before the first connection to an https host is up, the protocol is not
// known, and Go would dial once per waiting request, then drop all but one
// of the connections if the server speaks HTTP/2: the first request goes
// alone until its connection is made, as curl's CURLOPT_PIPEWAIT (Nix's)
// does. Over HTTP/2 the others then share it at no cost; over HTTP/1.1
// they dial theirs one handshake later.
func NewTransport(concurrency int) http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ForceAttemptHTTP2 = true // cloned, but the reason this is a clone
	n := max(concurrency, 2)
	t.MaxIdleConnsPerHost = n
	t.MaxConnsPerHost = n
	t.MaxIdleConns = 4 * n
	return &pipeWait{next: t, hosts: map[string]chan struct{}{}, slots: make(chan struct{}, n)}
}

// pipeWait holds back the requests to an https host until the first one
// to it has a connection, and any request while slots are all taken.
type pipeWait struct {
	next  http.RoundTripper
	mu    sync.Mutex
	hosts map[string]chan struct{} // closed once the host's first request has a connection
	// slots holds a token for each request in flight, until its answer's
	// body is closed.
	slots chan struct{}
}

func (p *pipeWait) RoundTrip(req *http.Request) (*http.Response, error) {
	select {
	case p.slots <- struct{}{}:
	case <-req.Context().Done():
		return nil, req.Context().Err()
	}
	var once sync.Once
	free := func() { once.Do(func() { <-p.slots }) }
	resp, err := p.roundTrip(req)
	if err != nil {
		free()
		return nil, err
	}
	resp.Body = &freeOnClose{ReadCloser: resp.Body, free: free}
	return resp, nil
}

// freeOnClose is an answer's body that frees its request's slot when
// closed.
type freeOnClose struct {
	io.ReadCloser
	free func()
}

func (b *freeOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.free()
	return err
}

func (p *pipeWait) roundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" {
		return p.next.RoundTrip(req)
	}
	p.mu.Lock()
	ready, known := p.hosts[req.URL.Host]
	if !known {
		ready = make(chan struct{})
		p.hosts[req.URL.Host] = ready
	}
	p.mu.Unlock()
	if known {
		select {
		case <-ready:
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
		return p.next.RoundTrip(req)
	}
	var once sync.Once
	release := func() { once.Do(func() { close(ready) }) }
	defer release() // the dial failed, or the request ended without a connection
	trace := &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { release() }}
	ctx := httptrace.WithClientTrace(req.Context(), trace)
	return p.next.RoundTrip(req.WithContext(ctx))
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// transport.
func (p *pipeWait) CloseIdleConnections() {
	if c, ok := p.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
