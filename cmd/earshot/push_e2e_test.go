package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/internal/audio"
	"github.com/earshot/earshot/internal/phones"
	"github.com/earshot/earshot/push"
	"github.com/earshot/earshot/push/fcmtest"
)

// startPushE2E runs a whole Earshot whose push goes to a fake FCM at
// endpoint (the fake's own, or an unreachable one).
func startPushE2E(t *testing.T, fake *fcmtest.Server, endpoint string, args ...string) *e2e {
	t.Helper()
	return startE2E(t, append([]string{
		"--push", "fcm", "--fcm-credentials", fake.Credentials(t), "--fcm-project", fcmtest.Project,
		"--fcm-endpoint", endpoint,
	}, args...)...)
}

// device registers a push token for the signed-in user.
func (e *e2e) device(tok, token, platform string) {
	e.t.Helper()
	e.call(tok, "PUT", "/api/v1/devices/"+token, `{"platform":"`+platform+`"}`, 204, nil)
}

// withPhone signs user in and registers an Android device token
// "<user>-phone"; it returns the session token.
func (e *e2e) withPhone(user string) string {
	e.t.Helper()
	tok, _ := e.login(user)
	e.device(tok, user+"-phone", "android")
	return tok
}

// byToken counts messages of a type per device token.
func byToken(msgs []fcmtest.Received, typ string) map[string]int {
	out := map[string]int{}
	for _, m := range fcmtest.OfType(msgs, typ) {
		out[m.Token]++
	}
	return out
}

// R8 through FCM: a listed agent's service call sends exactly one listen
// offer to each device of each supervisor who lists the agent; a direct
// call sends none; the call ending before anyone dials sends "withdrawn".
func TestPush_SupervisedOffers(t *testing.T) {
	fake := fcmtest.New(t)
	e := startPushE2E(t, fake, fake.Endpoint())
	ctx := context.Background()
	e.call(e.admin, "PUT", "/api/v1/admin/users/sue", `{"org":"acme","name":"Sue Supervisor",
		"roles":["supervisor"],"phone_number":"+358401234570","password":"change-me"}`, 200, nil)
	sara, _ := e.login("sara")
	sue, _ := e.login("sue")
	e.device(sara, "sara-phone", "android")
	e.device(sara, "sara-tablet", "ios")
	e.device(sue, "sue-phone", "ios")
	for _, tok := range []string{sara, sue} {
		e.call(tok, "PUT", "/api/v1/supervising/users/bob", "", 204, nil)
	}

	direct, err := e.h.Service(ctx, phones.ServiceOpts{Agent: "bob", Via: phones.Direct})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // no event tells that nothing happened
	if got := fake.Received(); len(got) != 0 {
		t.Fatalf("a direct call sent %s", fcmtest.Summary(got))
	}
	if err := direct.Hangup(ctx); err != nil {
		t.Fatal(err)
	}

	call, err := e.h.Service(ctx, phones.ServiceOpts{Pool: "sales", Agent: "bob", Via: phones.ViaQueue})
	if err != nil {
		t.Fatal(err)
	}
	fake.Wait(t, 10*time.Second, "a listen offer on each device", func(r []fcmtest.Received) bool {
		return len(byToken(r, push.TypeListenOffer)) == 3
	})
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	got := fake.Wait(t, 10*time.Second, "withdrawn on each device", func(r []fcmtest.Received) bool {
		return len(byToken(r, push.TypeOfferWithdrawn)) == 3
	})
	time.Sleep(500 * time.Millisecond) // a duplicate would be on its way now
	got = fake.Received()
	for _, typ := range []string{push.TypeListenOffer, push.TypeOfferWithdrawn} {
		for tok, n := range byToken(got, typ) {
			if n != 1 {
				t.Errorf("%s: %d %s messages, want 1", tok, n, typ)
			}
		}
	}
	offer := fcmtest.OfType(got, push.TypeListenOffer)[0]
	for k, want := range map[string]string{
		"agent_id": "bob", "agent_name": "Bob Agent", "pool_id": "sales", "pool_name": "Sales",
		"source": "supervised", "supervising_number": phones.SupervisingNumber, "dial_uri": "tel:" + phones.SupervisingNumber,
	} {
		if offer.Data[k] != want {
			t.Errorf("offer data %s = %q, want %q", k, offer.Data[k], want)
		}
	}
	if offer.Android.Priority != "high" || offer.Android.CollapseKey == "" || offer.Android.TTL == "" {
		t.Errorf("offer android part = %+v, want high priority, a collapse key and a TTL", offer.Android)
	}
}

// R7 and R11 through FCM: an ad hoc Listen sends an offer whose dial URI
// (with the one-time code) connects when dialled; then the status follows
// every mode, and the end replaces it — all under the call's key.
func TestPush_AdHocSession(t *testing.T) {
	fake := fcmtest.New(t)
	e := startPushE2E(t, fake, fake.Endpoint(), "--offer-codes")
	ctx := context.Background()
	tok := e.withPhone("sara")
	call := e.serviceCall("alice")
	e.call(tok, "POST", "/api/v1/users/alice/listen", "", 201, nil)
	offer := fake.Wait(t, 10*time.Second, "listen offer", func(r []fcmtest.Received) bool { return len(r) == 1 })[0]
	if offer.Data["type"] != push.TypeListenOffer || offer.Data["source"] != "ad_hoc" {
		t.Fatalf("first message = %v, want an ad hoc listen offer", offer.Data)
	}
	// Dial what the notification says: the number, then the code.
	number, code, ok := strings.Cut(strings.TrimPrefix(offer.Data["dial_uri"], "tel:"), ",")
	if !ok || number != phones.SupervisingNumber || len(code) < 2 {
		t.Fatalf("dial_uri = %q, want tel:<supervising number>,<code>#", offer.Data["dial_uri"])
	}
	sup, err := e.h.Supervisor(ctx, phones.SupervisorOpts{Name: "sara", Number: "+358401234567", App: e.app, Digits: code})
	if err != nil {
		t.Fatal(err)
	}
	id := e.waitSessions(tok, 1).Sessions[0].ID
	status := func(n int, mode, actions string) {
		t.Helper()
		got := fake.Wait(t, 10*time.Second, "status "+mode, func(r []fcmtest.Received) bool {
			return len(fcmtest.OfType(r, push.TypeSupervisingStatus)) == n
		})
		m := fcmtest.OfType(got, push.TypeSupervisingStatus)[n-1]
		if m.Data["mode"] != mode || m.Data["actions"] != actions || m.Data["session_id"] != id {
			t.Errorf("status %d = %v, want mode %s, actions %s, session %s", n, m.Data, mode, actions, id)
		}
		if want := push.StatusCategory(earshot.Mode(mode)); m.APNS.Payload.Aps.Category != want || m.Android.Notification.ClickAction != want {
			t.Errorf("status %d category = %q / %q, want %q", n, m.APNS.Payload.Aps.Category, m.Android.Notification.ClickAction, want)
		}
	}
	status(1, "listen", "whisper,barge")
	e.call(tok, "PUT", "/api/v1/supervising/sessions/"+id+"/mode", `{"mode":"whisper"}`, 200, nil)
	status(2, "whisper", "listen,barge")
	e.call(tok, "PUT", "/api/v1/supervising/sessions/"+id+"/mode", `{"mode":"barge"}`, 200, nil)
	status(3, "barge", "listen,whisper")
	if err := sup.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	got := fake.Wait(t, 10*time.Second, "session ended", func(r []fcmtest.Received) bool {
		return len(fcmtest.OfType(r, push.TypeSessionEnded)) == 1
	})
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	// Everything about the call replaces what came before on the phone.
	for _, m := range got {
		if m.Android.Notification.Tag != offer.Android.Notification.Tag || m.APNS.Headers["apns-collapse-id"] != offer.Android.Notification.Tag {
			t.Errorf("%s has key %q/%q, want the call's %q", m.Data["type"], m.Android.Notification.Tag,
				m.APNS.Headers["apns-collapse-id"], offer.Android.Notification.Tag)
		}
	}
	if n := len(fcmtest.OfType(fake.Received(), push.TypeOfferWithdrawn)); n != 0 {
		t.Errorf("%d withdrawals for an offer that was used", n)
	}
}

// FCM failing never touches the call path: with 429 and 500 for a while
// the offer is retried and arrives; an UNREGISTERED token is removed from
// the store; with FCM unreachable supervising and the API work as ever
// and messages are dropped after the bound.
func TestPush_FCMTrouble(t *testing.T) {
	t.Run("retried", func(t *testing.T) {
		fake := fcmtest.New(t)
		e := startPushE2E(t, fake, fake.Endpoint())
		tok := e.withPhone("sara")
		e.device(tok, "sara-old-phone", "android")
		fake.Unregister("sara-old-phone")
		e.serviceCall("alice")
		fake.Fail(2, 429, "")
		fake.Fail(2, 500, "")
		e.call(tok, "POST", "/api/v1/users/alice/listen", "", 201, nil)
		fake.Wait(t, 15*time.Second, "the offer after retries", func(r []fcmtest.Received) bool {
			return byToken(r, push.TypeListenOffer)["sara-phone"] == 1
		})
		deadline := time.Now().Add(5 * time.Second)
		for {
			devs, err := e.m.db.Devices(context.Background(), "sara")
			if err != nil {
				t.Fatal(err)
			}
			if len(devs) == 1 && devs[0].Token == "sara-phone" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("devices = %+v, want the unregistered token removed", devs)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if s := e.m.push.Stats(); s.Retries == 0 || s.Removed != 1 {
			t.Errorf("stats = %+v, want retries and one token removed", s)
		}
	})

	t.Run("unreachable", func(t *testing.T) {
		dead := fcmtest.Unreachable(t)
		e := startPushE2E(t, fcmtest.New(t), dead, "--push-attempts", "2", "--push-timeout", "300ms")
		ctx := context.Background()
		tok := e.withPhone("sara")
		call := e.serviceCall("alice")
		begin := time.Now()
		e.call(tok, "POST", "/api/v1/users/alice/listen", "", 201, nil)
		if d := time.Since(begin); d > 2*time.Second {
			t.Errorf("listen took %s with FCM unreachable", d)
		}
		sup, err := e.h.Supervisor(ctx, phones.SupervisorOpts{Name: "sara", Number: "+358401234567", App: e.app})
		if err != nil {
			t.Fatal(err)
		}
		id := e.waitSessions(tok, 1).Sessions[0].ID
		e.call(tok, "PUT", "/api/v1/supervising/sessions/"+id+"/mode", `{"mode":"whisper"}`, 200, nil)
		from, to := hold(900 * time.Millisecond)
		if err := sup.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
		if err := call.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
		ra, _ := call.Recording(ctx, "alice")
		audio.AssertHears(t, ra.Recording, "agent (whisper)", phones.SupervisorHz,
			ra.Between(from.Add(250*time.Millisecond), to.Add(-50*time.Millisecond)))
		deadline := time.Now().Add(10 * time.Second)
		// offer, status listen, status whisper, ended: all given up.
		for s := e.m.push.Stats(); s.Dropped < 4; s = e.m.push.Stats() {
			if time.Now().After(deadline) {
				t.Fatalf("stats = %+v, want 4 messages dropped", s)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if s := e.m.push.Stats(); s.Sent != 0 {
			t.Errorf("stats = %+v, want nothing sent", s)
		}
	})
}
