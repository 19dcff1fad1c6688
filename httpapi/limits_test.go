package httpapi_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/earshot/earshot/httpapi"
)

// A body that never arrives is answered 408 problem+json once the body
// timeout passes, and the connection is closed: the client cannot hold
// it for as long as it likes.
func TestServer_BodyTimeout(t *testing.T) {
	e := newEnv(t, func(c *httpapi.Config) { c.BodyTimeout = 300 * time.Millisecond })
	ts := newStreamServer(t, e)
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PUT /api/v1/devices/t1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"platform\":", e.token("sara"))
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second)) // a wait, not the test's subject
	start := time.Now()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	t.Logf("answered after %v: %d %s", time.Since(start).Round(time.Millisecond), resp.StatusCode, body)
	var p httpapi.Problem
	if resp.StatusCode != http.StatusRequestTimeout || resp.Header.Get("Content-Type") != "application/problem+json" ||
		json.Unmarshal(body, &p) != nil || !strings.Contains(p.Detail, "did not arrive within 300ms") {
		t.Fatalf("answer %d %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if len(e.store.devices) != 0 {
		t.Errorf("device stored from a partial body: %v", e.store.devices)
	}
}

// A body that arrives in time is unaffected, and the connection's next
// request is not cut by the deadline of the previous body.
func TestServer_BodyInTime(t *testing.T) {
	e := newEnv(t, func(c *httpapi.Config) { c.BodyTimeout = 300 * time.Millisecond })
	ts := newStreamServer(t, e)
	client := ts.Client()
	for i := range 2 {
		req, _ := http.NewRequest("PUT", ts.URL+"/api/v1/devices/t1", strings.NewReader(`{"platform":"ios"}`))
		req.Header.Set("Authorization", "Bearer "+e.token("sara"))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("request %d: status %d", i, resp.StatusCode)
		}
		time.Sleep(500 * time.Millisecond) // past the first body's deadline, on the same connection
	}
}

// The event stream has no body and no deadline: it outlives the body
// timeout many times over.
func TestServer_StreamOutlivesBodyTimeout(t *testing.T) {
	e := newEnv(t, func(c *httpapi.Config) {
		c.BodyTimeout = 100 * time.Millisecond
		c.Heartbeat = 150 * time.Millisecond
	})
	ts := newStreamServer(t, e)
	events := openStream(t, ts, e.token("sara"))
	deadline := time.After(10 * time.Second)
	start := time.Now()
	for beats := 0; time.Since(start) < time.Second; {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("stream ended after %v and %d heartbeats", time.Since(start), beats)
			}
			if strings.HasPrefix(ev.name, ":") {
				beats++
			}
		case <-deadline:
			t.Fatal("no heartbeats")
		}
	}
}

// A header that never ends closes the connection after the header
// timeout.
func TestServer_HeaderTimeout(t *testing.T) {
	e := newEnv(t, func(c *httpapi.Config) { c.HeaderTimeout = 200 * time.Millisecond })
	srv := httpapi.HTTPServer(e.srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	_, err = io.ReadAll(conn)
	if err != nil {
		t.Fatalf("connection not closed by the server: %v", err)
	}
	t.Logf("closed after %v", time.Since(start).Round(time.Millisecond))
}
