package retry

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestDoDeclinesWhatCannotHeal: a marked failure that cannot heal within a
// run is tried once, as a *PermanentError that keeps the cause and says why;
// one that may heal is retried up to the budget.
func TestDoDeclinesWhatCannotHeal(t *testing.T) {
	get := func(err error) error {
		return &url.Error{Op: "Get", URL: "https://cache.example/x.narinfo", Err: err}
	}
	dial := func(err error) error { return get(&net.OpError{Op: "dial", Net: "tcp", Err: err}) }
	tests := []struct {
		name   string
		err    error
		reason string // "" when it is retried
	}{
		{"no such host", dial(&net.DNSError{Err: "no such host", Name: "cache.example", IsNotFound: true}), "a name that does not resolve"},
		{"unknown authority", get(x509.UnknownAuthorityError{}), "a certificate that does not verify"},
		{"wrong host name", get(x509.HostnameError{Certificate: &x509.Certificate{}, Host: "cache.example"}), "a certificate that does not verify"},
		{"expired", get(x509.CertificateInvalidError{Reason: x509.Expired}), "a certificate that does not verify"},
		{"resolver timeout", dial(&net.DNSError{Err: "i/o timeout", Name: "cache.example", IsTimeout: true}), ""},
		{"resolver unreachable", dial(&net.DNSError{Err: "server misbehaving", Name: "cache.example", IsTemporary: true}), ""},
		{"connection refused", dial(os.NewSyscallError("connect", syscall.ECONNREFUSED)), ""},
		{"503", errors.New("GET https://cache.example/x.narinfo: 503 Service Unavailable"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s sleeps
			p := Policy{Attempts: 3, Sleep: s.sleep}
			n, err := p.Do(context.Background(), "GET x", func(context.Context) error { return Again(tt.err) })
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want it to wrap %v", err, tt.err)
			}
			var pe *PermanentError
			if tt.reason == "" {
				var ex *ExhaustedError
				if n != 3 || !errors.As(err, &ex) || errors.As(err, &pe) {
					t.Errorf("%d attempts, err = %v; want 3 and an *ExhaustedError", n, err)
				}
				return
			}
			if n != 1 || len(s) != 0 || !errors.As(err, &pe) || pe.Reason != tt.reason {
				t.Fatalf("%d attempts, slept %v, err = %v; want 1 attempt and a *PermanentError for %s", n, s, err, tt.reason)
			}
			if want := fmt.Sprintf("(not retried: %s cannot heal within a run)", tt.reason); !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "https://cache.example/x.narinfo") {
				t.Errorf("err reads %q; want the URL and %q", err, want)
			}
		})
	}
}

// TestDoDeclinesAnUntrustedCertificate: the error net/http really returns
// for a certificate it does not trust is seen through its wrapping.
func TestDoDeclinesAnUntrustedCertificate(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake's failure, as expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	hc := &http.Client{Transport: &http.Transport{}}
	n, err := Policy{Sleep: (&sleeps{}).sleep}.Do(context.Background(), "GET "+srv.URL, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		if err != nil {
			return err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return Again(err)
		}
		return resp.Body.Close()
	})
	var pe *PermanentError
	if n != 1 || !errors.As(err, &pe) || pe.Reason != "a certificate that does not verify" {
		t.Errorf("%d attempts, err = %v; want 1 attempt and a *PermanentError for the certificate", n, err)
	}
}

// TestTransientStatus: which statuses are retried.
func TestTransientStatus(t *testing.T) {
	for code, want := range map[int]bool{
		http.StatusTooManyRequests: true, http.StatusInternalServerError: true, http.StatusBadGateway: true,
		http.StatusServiceUnavailable: true, http.StatusGatewayTimeout: true,
		http.StatusNotImplemented: false, http.StatusHTTPVersionNotSupported: false,
		http.StatusNotFound: false, http.StatusForbidden: false, http.StatusOK: false, 600: false,
	} {
		if got := TransientStatus(code); got != want {
			t.Errorf("TransientStatus(%d) = %v, want %v", code, got, want)
		}
	}
}
