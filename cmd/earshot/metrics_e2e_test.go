package main

import (
	"context"
	"testing"
	"time"

	"github.com/earshot/earshot/internal/phones"
)

// scrape reads the API's /metrics.
func (e *e2e) scrape() map[string]float64 {
	e.t.Helper()
	return scrape(e.t, e.api.URL)
}

// waitMetric polls /metrics until series has value want.
func (e *e2e) waitMetric(series string, want float64) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, ok := e.scrape()[series]
		if ok && got == want {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s = %v (present %v), want %v", series, got, ok, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// /metrics follows what happens: calls, offers, sessions by mode, rejects,
// API latency by route, push outcomes.
func TestE2E_Metrics(t *testing.T) {
	e := startE2E(t)
	ctx := context.Background()
	tok := e.withPhone("sara")
	e.waitMetric("earshot_ari_up", 1)
	e.waitMetric("earshot_service_calls", 0)

	call := e.serviceCall("alice")
	e.waitMetric("earshot_service_calls", 1)
	e.call(tok, "POST", "/api/v1/users/alice/listen", "", 201, nil)
	e.waitMetric(`earshot_offers_total{source="ad_hoc"}`, 1)
	e.waitMetric("earshot_offers_live", 1)
	sup, err := e.h.Supervisor(ctx, phones.SupervisorOpts{Name: "sara", Number: "+358401234567", App: e.app})
	if err != nil {
		t.Fatal(err)
	}
	id := e.waitSessions(tok, 1).Sessions[0].ID
	e.waitMetric(`earshot_sessions{mode="listen"}`, 1)
	e.waitMetric("earshot_sessions_started_total", 1)
	e.call(tok, "PUT", "/api/v1/supervising/sessions/"+id+"/mode", `{"mode":"barge"}`, 200, nil)
	e.waitMetric(`earshot_sessions{mode="listen"}`, 0)
	e.waitMetric(`earshot_sessions{mode="barge"}`, 1)
	if err := sup.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	e.waitMetric(`earshot_sessions{mode="barge"}`, 0)

	// Nobody has this number: rejected.
	if _, err := e.h.Supervisor(ctx, phones.SupervisorOpts{Name: "sara", Number: "+358409999999", App: e.app}); err != nil {
		t.Fatal(err)
	}
	e.waitMetric(`earshot_rejects_total{reason="unknown_number"}`, 1)
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	e.waitMetric("earshot_service_calls", 0)

	// Push in log mode "sends" the offer, two statuses and the end.
	e.waitMetric(`earshot_push_notifications_total{outcome="sent"}`, 4)
	m := e.scrape()
	if n := m[`earshot_api_request_duration_seconds_count{code="201",method="POST",route="/api/v1/users/:user/listen"}`]; n != 1 {
		t.Errorf("listen latency count = %v, want 1", n)
	}
	if m["earshot_ari_connects_total"] < 1 || m["earshot_ari_events_total"] < 10 {
		t.Errorf("ari counters: connects %v, events %v", m["earshot_ari_connects_total"], m["earshot_ari_events_total"])
	}
}
