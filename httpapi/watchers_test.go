package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/earshot/earshot"
)

// The pool users view names who supervises each call and in which mode:
// several supervisors, sorted by name; none of another organization's,
// even on a call with the same id.
func TestPoolUsers_Supervisors(t *testing.T) {
	e := newEnv(t)
	e.super.mu.Lock()
	e.super.sessions["ses-sam"] = earshot.Session{ID: "ses-sam", Supervisor: "sam", Agent: "alice", Pool: "sales", CallID: "call-a", Mode: earshot.ModeBarge, StartedAt: t0}
	e.super.sessions["ses-evil"] = earshot.Session{ID: "ses-evil", Supervisor: "gus", Agent: "alice", Pool: "sales", CallID: "call-a", Mode: earshot.ModeWhisper, StartedAt: t0}
	e.super.mu.Unlock()
	w := e.do("GET", "/api/v1/pools/sales/users", e.token("sara"), nil)
	wantStatus(t, w, http.StatusOK)
	type sup struct{ ID, Name, Mode string }
	users := decodeAs[struct {
		Users []struct {
			ID     string
			OnCall *struct{ Supervisors []sup } `json:"on_call"`
		}
	}](t, w).Users
	for _, u := range users {
		switch u.ID {
		case "alice":
			want := []sup{{"sam", "Sam", "barge"}, {"sara", "Sara", "listen"}}
			if u.OnCall == nil || len(u.OnCall.Supervisors) != 2 || u.OnCall.Supervisors[0] != want[0] || u.OnCall.Supervisors[1] != want[1] {
				t.Errorf("alice's call: %+v, want %+v", u.OnCall, want)
			}
		case "bob":
			if u.OnCall != nil {
				t.Errorf("bob on a call: %+v", u.OnCall)
			}
		}
	}
	// A call nobody supervises has an empty list, not null.
	e.super.mu.Lock()
	delete(e.super.sessions, "ses-sara")
	delete(e.super.sessions, "ses-sam")
	delete(e.super.sessions, "ses-evil")
	e.super.mu.Unlock()
	w = e.do("GET", "/api/v1/users/alice", e.token("sara"), nil)
	wantStatus(t, w, http.StatusOK)
	if got := decodeAs[struct {
		OnCall struct{ Supervisors []sup } `json:"on_call"`
	}](t, w).OnCall.Supervisors; got == nil || len(got) != 0 {
		t.Errorf("supervisors %#v, want []", got)
	}
}
