package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/earshot/earshot/tlsfile"
)

// Earshot serving HTTPS itself (tls-cert, tls-key): the API, the console
// and a browser session's media link (wss) work over TLS with a
// certificate the client trusts, and a renewed certificate written over
// the files is served from the next connection on, without a restart.
func TestE2E_TLS(t *testing.T) {
	e, addr, cert, key := startTLSE2E(t, "earshot-first")
	base := "https://" + addr
	client := func() *http.Client {
		pem, err := os.ReadFile(cert)
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(pem)
		return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: roots}, DisableKeepAlives: true}}
	}
	// The server starts listening a moment after Run: wait for it.
	var served string
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := client().Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			served = resp.TLS.PeerCertificates[0].Subject.CommonName
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("https: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if served != "earshot-first" {
		t.Fatalf("served %q", served)
	}
	resp, err := client().Get(base + "/")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("console over https: %v %v", err, resp)
	}
	resp.Body.Close()

	// Listen here and its media link, over TLS.
	tok, _ := e.login("sara")
	e.serviceCall("alice")
	e.waitOnCall(tok, "alice")
	req, _ := http.NewRequest("POST", base+"/api/v1/users/alice/listen-here", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err = client().Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("listen here over https: %v %v", err, resp)
	}
	resp.Body.Close()
	sessions := e.waitSessions(tok, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "wss://"+addr+"/api/v1/supervising/sessions/"+sessions.Sessions[0].ID+"/media",
		&websocket.DialOptions{HTTPClient: client(), Subprotocols: []string{"earshot-media", "bearer." + tok}})
	if err != nil {
		t.Fatalf("wss media link: %v", err)
	}
	if typ, b, err := conn.Read(ctx); err != nil || typ != websocket.MessageBinary || len(b) != 640 {
		t.Fatalf("call audio over wss: %v %d %v", typ, len(b), err)
	}
	conn.Close(websocket.StatusNormalClosure, "")
	e.call(tok, "DELETE", "/api/v1/supervising/sessions/"+sessions.Sessions[0].ID, "", 204, nil)

	// Renewed on disk: served from the next connection.
	if err := tlsfile.WriteSelfSigned(cert, key, "earshot-renewed", time.Hour); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(5 * time.Second)
	for {
		resp, err := client().Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if cn := resp.TLS.PeerCertificates[0].Subject.CommonName; cn == "earshot-renewed" {
				break
			}
		} else if !strings.Contains(err.Error(), "certificate") {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the renewed certificate was never served")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startTLSE2E starts the whole program serving HTTPS itself on a free
// loopback address, with a fresh self-signed certificate for cn; e.api
// stays the same handler over plain HTTP.
func startTLSE2E(t *testing.T, cn string) (e *e2e, addr, cert, key string) {
	t.Helper()
	dir := t.TempDir()
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := tlsfile.WriteSelfSigned(cert, key, cn, time.Hour); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = ln.Addr().String()
	ln.Close()
	return startE2E(t, "--tls-cert", cert, "--tls-key", key, "--http-addr", addr), addr, cert, key
}
