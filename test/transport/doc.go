// Package transport holds a test of how the whole program uses the
// network: against HTTPS servers that offer HTTP/2 (or only HTTP/1.1),
// every request of every client it makes (the Cachix API, the binary
// cache, the live site, GitHub) goes over HTTP/2 where it is offered, and
// connections are kept and reused. The process trusts httptest's
// certificate through SSL_CERT_FILE (test/tlscert), so the clients tested
// are the program's own, as it builds them.
package transport
