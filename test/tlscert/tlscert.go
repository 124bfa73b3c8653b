// Package tlscert lets a program trust the loopback HTTPS servers of
// net/http/httptest, which all present one certificate (for 127.0.0.1,
// ::1 and example.com): WriteCA writes it as a PEM file for SSL_CERT_FILE,
// which Go's crypto/x509 and curl (as CURL_CA_BUNDLE) read, so that the
// program's own transports, unchanged, speak TLS and HTTP/2 to them.
package tlscert

import (
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// WriteCA writes httptest's certificate to dir/httptest-ca.pem and returns
// the file's path.
func WriteCA(dir string) (string, error) {
	ts := httptest.NewUnstartedServer(http.NotFoundHandler())
	ts.StartTLS()
	cert := ts.Certificate()
	ts.Close()
	path := filepath.Join(dir, "httptest-ca.pem")
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	return path, os.WriteFile(path, data, 0o644)
}

// TrustInProcess points SSL_CERT_FILE at httptest's certificate, written
// under dir, for this process: call it from TestMain, before anything
// reads the system's roots (crypto/x509 reads them once per process).
// Every TLS client of the process then trusts httptest's servers, and
// only them and the system's certificate folders.
func TrustInProcess(dir string) error {
	path, err := WriteCA(dir)
	if err != nil {
		return err
	}
	return os.Setenv("SSL_CERT_FILE", path)
}

// RunTrusting runs a test binary's tests in a process that trusts
// httptest's HTTPS servers (TrustInProcess), for a TestMain: the
// transports under test are then the program's own, not ones given the
// certificate.
func RunTrusting(m *testing.M) int {
	dir, err := os.MkdirTemp("", "tlscert-")
	if err == nil {
		err = TrustInProcess(dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	return m.Run()
}
