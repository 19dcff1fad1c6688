package tlsfile_test

import (
	"crypto/tls"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/earshot/earshot/tlsfile"
)

func writeSelfSigned(t *testing.T, certFile, keyFile, cn string) {
	t.Helper()
	if err := tlsfile.WriteSelfSigned(certFile, keyFile, cn, time.Hour); err != nil {
		t.Fatal(err)
	}
}

// A server on the reloader serves the pair it started with, and a
// renewed pair from the next handshake after the files change, with no
// restart; a broken pair written meanwhile leaves the last good one.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeSelfSigned(t, cert, key, "first")
	r, err := tlsfile.New(cert, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Not httptest's StartTLS: it adds a certificate of its own, which
	// would be served instead of GetCertificate's to clients without SNI.
	ln, err := tls.Listen("tcp", "127.0.0.1:0", r.Config())
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})}
	go srv.Serve(ln)
	defer srv.Close()
	url := "https://" + ln.Addr().String()
	served := func() string {
		t.Helper()
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true}}
		resp, err := c.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.TLS.PeerCertificates[0].Subject.CommonName
	}
	if got := served(); got != "first" {
		t.Fatalf("served %q, want first", got)
	}
	writeSelfSigned(t, cert, key, "renewed")
	deadline := time.Now().Add(5 * time.Second)
	for served() != "renewed" {
		if time.Now().After(deadline) {
			t.Fatal("the renewed certificate was never served")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := os.WriteFile(key, []byte("half-written"), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	if got := served(); got != "renewed" {
		t.Errorf("with a broken key on disk served %q, want the last good one", got)
	}
	if _, err := tlsfile.New(cert, key, nil); err == nil {
		t.Error("New accepted a broken pair")
	}
}
