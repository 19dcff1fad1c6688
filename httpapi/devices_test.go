package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestDevice_Put(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		// FCM tokens hold ':'; an escaped one is stored unescaped.
		wantStatus(t, e.do("PUT", "/api/v1/devices/fcm%3Aabc-1", e.token("carl"), `{"platform":"android"}`), http.StatusNoContent)
		if got := e.store.devices["fcm:abc-1"]; got != [2]string{"carl", "android"} {
			t.Errorf("device = %v", got)
		}
	})
	t.Run("AgainIsIdempotent", func(t *testing.T) {
		e := newEnv(t)
		tok := e.token("carl")
		wantStatus(t, e.do("PUT", "/api/v1/devices/t1", tok, `{"platform":"ios"}`), http.StatusNoContent)
		wantStatus(t, e.do("PUT", "/api/v1/devices/t1", tok, `{"platform":"android"}`), http.StatusNoContent)
		if got := e.store.devices["t1"]; got != [2]string{"carl", "android"} {
			t.Errorf("device = %v", got)
		}
	})
	t.Run("ErrTakenByAnotherUser", func(t *testing.T) {
		// Knowing carl's token does not let sara take his notifications.
		e := newEnv(t)
		e.do("PUT", "/api/v1/devices/t1", e.token("carl"), `{"platform":"ios"}`)
		p := wantProblem(t, e.do("PUT", "/api/v1/devices/t1", e.token("sara"), `{"platform":"ios"}`), http.StatusConflict)
		if p.Type != "https://earshot.dev/problems/device-token-taken" {
			t.Errorf("type %q", p.Type)
		}
		if got := e.store.devices["t1"]; got != [2]string{"carl", "ios"} {
			t.Errorf("device = %v, want carl's kept", got)
		}
		// Once carl deregisters it, sara may register it.
		wantStatus(t, e.do("DELETE", "/api/v1/devices/t1", e.token("carl"), nil), http.StatusNoContent)
		wantStatus(t, e.do("PUT", "/api/v1/devices/t1", e.token("sara"), `{"platform":"ios"}`), http.StatusNoContent)
	})
	t.Run("ErrPlatform", func(t *testing.T) {
		e := newEnv(t)
		p := wantProblem(t, e.do("PUT", "/api/v1/devices/t1", e.token("sara"), `{"platform":"windows"}`), http.StatusUnprocessableEntity)
		if len(p.Errors) != 1 || p.Errors[0].Field != "platform" {
			t.Errorf("errors = %+v", p.Errors)
		}
		if len(e.store.devices) != 0 {
			t.Error("device stored")
		}
	})
	t.Run("ErrTokenTooLong", func(t *testing.T) {
		e := newEnv(t)
		p := wantProblem(t, e.do("PUT", "/api/v1/devices/"+strings.Repeat("x", 4097), e.token("sara"), `{"platform":"ios"}`), http.StatusUnprocessableEntity)
		if p.Type != "https://earshot.dev/problems/validation" || len(p.Errors) != 1 || p.Errors[0].Field != "token" || !strings.Contains(p.Errors[0].Detail, "4096") {
			t.Errorf("problem %+v", p)
		}
		if len(e.store.devices) != 0 {
			t.Error("device stored")
		}
		// 4,096 bytes is fine.
		wantStatus(t, e.do("PUT", "/api/v1/devices/"+strings.Repeat("x", 4096), e.token("sara"), `{"platform":"ios"}`), http.StatusNoContent)
	})
}

func TestDevice_Delete(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		tok := e.token("sara")
		e.do("PUT", "/api/v1/devices/t1", tok, `{"platform":"ios"}`)
		for range 2 { // idempotent
			wantStatus(t, e.do("DELETE", "/api/v1/devices/t1", tok, nil), http.StatusNoContent)
		}
		if len(e.store.devices) != 0 {
			t.Errorf("devices = %v", e.store.devices)
		}
	})
	t.Run("AnotherUsersTokenIsLeftAlone", func(t *testing.T) {
		e := newEnv(t)
		e.do("PUT", "/api/v1/devices/t1", e.token("carl"), `{"platform":"ios"}`)
		wantStatus(t, e.do("DELETE", "/api/v1/devices/t1", e.token("sara"), nil), http.StatusNoContent)
		if got := e.store.devices["t1"]; got != [2]string{"carl", "ios"} {
			t.Errorf("carl's device = %v, want it kept", got)
		}
	})
}
