package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/earshot/earshot/internal/apiclient"
	"github.com/earshot/earshot/internal/phones"
)

// An app developer's view: a client generated from the served OpenAPI
// document (internal/apiclient, oapi-codegen) drives a supervision on the
// sandbox Asterisk with its methods alone — sign in, list pools and a
// pool's users, Listen, see the session, switch mode, hang up.
func TestE2E_GeneratedClient(t *testing.T) {
	e := startE2E(t)
	ctx := context.Background()
	anon, err := apiclient.NewClientWithResponses(e.api.URL)
	noErr(t, err)
	login, err := anon.LoginWithResponse(ctx, apiclient.LoginRequest{Username: "sara", Password: "change-me"})
	noErr(t, err)
	if login.JSON200 == nil {
		t.Fatalf("login: %s", login.Body)
	}
	// A wrong password is the documented 401 problem, decoded as such.
	bad, err := anon.LoginWithResponse(ctx, apiclient.LoginRequest{Username: "sara", Password: "wrong"})
	noErr(t, err)
	if bad.StatusCode() != http.StatusUnauthorized || bad.ApplicationproblemJSON401 == nil ||
		bad.ApplicationproblemJSON401.Status != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d %s", bad.StatusCode(), bad.Body)
	}
	token := login.JSON200.Token
	c, err := apiclient.NewClientWithResponses(e.api.URL, apiclient.WithRequestEditorFn(
		func(_ context.Context, req *http.Request) error {
			req.Header.Set("Authorization", "Bearer "+token)
			return nil
		}))
	noErr(t, err)
	number := "040 1234567"
	settings, err := c.SetSettingsWithResponse(ctx, apiclient.Settings{PhoneNumber: &number})
	noErr(t, err)
	if settings.JSON200 == nil || settings.JSON200.PhoneNumber == nil || *settings.JSON200.PhoneNumber != "+358401234567" {
		t.Fatalf("set settings: %s", settings.Body)
	}

	call, err := e.h.Service(ctx, phones.ServiceOpts{Pool: "sales", Agent: "alice", Via: phones.ViaQueue})
	if err != nil {
		t.Fatal(err)
	}
	pools, err := c.ListPoolsWithResponse(ctx)
	noErr(t, err)
	if pools.JSON200 == nil {
		t.Fatalf("list pools: %s", pools.Body)
	}
	var sales *apiclient.Pool
	for i, p := range pools.JSON200.Pools {
		if p.Id == "sales" {
			sales = &pools.JSON200.Pools[i]
		}
	}
	if sales == nil || sales.AgentsOnCall != 1 {
		t.Fatalf("pools = %+v, want sales with one agent on a call", pools.JSON200.Pools)
	}
	users, err := c.ListPoolUsersWithResponse(ctx, "sales")
	noErr(t, err)
	if users.JSON200 == nil {
		t.Fatalf("list pool users: %s", users.Body)
	}
	onCall := map[string]bool{}
	for _, u := range users.JSON200.Users {
		onCall[u.Id] = u.OnCall != nil
	}
	if !onCall["alice"] || onCall["bob"] {
		t.Fatalf("pool users = %+v", users.JSON200.Users)
	}
	// A pool of another organization is the documented 404.
	other, err := c.ListPoolUsersWithResponse(ctx, "no-such-pool")
	noErr(t, err)
	if other.ApplicationproblemJSON404 == nil {
		t.Fatalf("unknown pool: %s", other.Body)
	}

	offer, err := c.CreateListenOfferWithResponse(ctx, "alice")
	noErr(t, err)
	if offer.JSON201 == nil || offer.JSON201.Offer.DialUri != "tel:"+phones.SupervisingNumber {
		t.Fatalf("listen offer: %s", offer.Body)
	}
	sup, err := e.h.Supervisor(ctx, phones.SupervisorOpts{Name: "sara", Number: "+358401234567", App: e.app})
	if err != nil {
		t.Fatal(err)
	}
	var session apiclient.Session
	deadline := time.Now().Add(10 * time.Second)
	for {
		list, err := c.ListSessionsWithResponse(ctx)
		noErr(t, err)
		if list.JSON200 == nil {
			t.Fatalf("list sessions: %s", list.Body)
		}
		if len(list.JSON200.Sessions) == 1 {
			session = list.JSON200.Sessions[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sessions = %+v, want one", list.JSON200.Sessions)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if session.Agent != "alice" || session.Mode != apiclient.Listen {
		t.Fatalf("session = %+v, want alice in listen", session)
	}
	mode, err := c.SetSessionModeWithResponse(ctx, session.Id, apiclient.ModeRequest{Mode: apiclient.Whisper})
	noErr(t, err)
	if mode.JSON200 == nil || mode.JSON200.Mode != apiclient.Whisper {
		t.Fatalf("set mode: %s", mode.Body)
	}
	hangup, err := c.HangUpSessionWithResponse(ctx, session.Id)
	noErr(t, err)
	if hangup.StatusCode() != http.StatusNoContent {
		t.Fatalf("hang up: %s", hangup.Body)
	}
	if err := sup.WaitGone(ctx, sup.SupervisorLeg); err != nil {
		t.Fatalf("hang-up through the generated client left the supervisor's call up: %v", err)
	}
	gone, err := c.HangUpSessionWithResponse(ctx, session.Id)
	noErr(t, err)
	if gone.ApplicationproblemJSON404 == nil {
		t.Fatalf("hang up again: %s", gone.Body)
	}
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
