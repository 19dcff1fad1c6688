package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestDecode_BadInput sends broken bodies to every route that reads one:
// each answer is a problem saying what is wrong, and nothing changes.
func TestDecode_BadInput(t *testing.T) {
	bodies := []struct {
		method, path string
	}{
		{"POST", "/api/v1/auth/login"},
		{"PUT", "/api/v1/supervising/settings"},
		{"PUT", "/api/v1/devices/t1"},
		{"PUT", "/api/v1/supervising/sessions/ses-sara/mode"},
		{"PUT", "/api/v1/admin/users/sara"},
		{"PUT", "/api/v1/admin/pools/sales"},
	}
	huge := `{"password":"` + strings.Repeat("x", 70<<10) + `"}`
	cases := []struct {
		name, ctype, body string
		status            int
		detail            string // in the problem's detail
		field             string // in the problem's errors, if any
	}{
		{"Malformed", "application/json", `{"phone_number":`, 400, "malformed JSON", ""},
		{"MalformedWithPlace", "application/json", "{\n  \"mode\" \"x\"\n}", 400, "line 2, column 10", ""},
		{"UnknownField", "application/json", `{"admin":true}`, 400, `unknown field "admin"`, "admin"},
		{"WrongType", "application/json", `{"platform":1,"mode":1,"username":1,"phone_number":1}`, 0, "", ""},
		{"NotAnObject", "application/json", `["a"]`, 400, "must be a JSON object", ""},
		{"Null", "application/json", `null`, 400, "must be a JSON object", ""},
		{"Empty", "application/json", ``, 400, "empty", ""},
		{"Trailing", "application/json", `{} {}`, 400, "more after the JSON object", ""},
		{"Oversized", "application/json", huge, 413, "64 KiB", ""},
		{"TextPlain", "text/plain", `{}`, 415, "Content-Type must be application/json", ""},
		{"NoContentType", "", `{}`, 415, "Content-Type must be application/json", ""},
		{"FormEncoded", "application/x-www-form-urlencoded", `mode=listen`, 415, "Content-Type", ""},
	}
	for _, b := range bodies {
		for _, tc := range cases {
			t.Run(b.method+" "+b.path+"/"+tc.name, func(t *testing.T) {
				e := newEnv(t)
				tok := ""
				switch {
				case strings.HasPrefix(b.path, "/api/v1/admin/"):
					tok = adminToken
				case !strings.HasSuffix(b.path, "/login"):
					tok = e.token("sara")
				}
				before := e.store.snapshot()
				w := e.raw(b.method, b.path, tok, tc.ctype, tc.body)
				if tc.status == 0 { // wrong types: 400 or, for raw fields, 422; always naming the field
					if w.Code != 400 && w.Code != 422 {
						t.Fatalf("status %d: %s", w.Code, w.Body)
					}
					if p := wantProblem(t, w, w.Code); len(p.Errors) == 0 {
						t.Errorf("no field named: %s", w.Body)
					}
				} else {
					p := wantProblem(t, w, tc.status)
					if !strings.Contains(p.Detail, tc.detail) {
						t.Errorf("detail %q lacks %q", p.Detail, tc.detail)
					}
					if tc.field != "" && (len(p.Errors) != 1 || p.Errors[0].Field != tc.field) {
						t.Errorf("errors = %+v, want field %s", p.Errors, tc.field)
					}
				}
				if e.store.snapshot() != before || e.super.Sessions("sara")[0].Mode != "listen" {
					t.Error("state changed")
				}
			})
		}
	}
}

func TestDecode_ChunkedOversized(t *testing.T) {
	e := newEnv(t)
	// No Content-Length: the limit applies while reading.
	body := io.MultiReader(strings.NewReader(`{"phone_number":"`), strings.NewReader(strings.Repeat("1", 70<<10)+`"}`))
	r := httptest.NewRequest("PUT", "/api/v1/supervising/settings", body)
	r.ContentLength = -1
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+e.token("sara"))
	w := e.serve(r)
	wantProblem(t, w, http.StatusRequestEntityTooLarge)
}

func TestSettings_PutInvalid(t *testing.T) {
	numbers := []string{"abc", "123", "+999 123 456", "0800-FLOWERS", "tel:+358401234567;ext=1", "   ", "+358 40 123 4567 +1", "++358401234567"}
	for _, n := range numbers {
		t.Run(n, func(t *testing.T) {
			e := newEnv(t)
			tok := e.token("sara")
			before := e.store.snapshot()
			body, _ := json.Marshal(map[string]string{"phone_number": n})
			p := wantProblem(t, e.do("PUT", "/api/v1/supervising/settings", tok, string(body)), http.StatusUnprocessableEntity)
			if len(p.Errors) != 1 || p.Errors[0].Field != "phone_number" || p.Errors[0].Detail == "" {
				t.Errorf("errors = %+v", p.Errors)
			}
			if e.store.snapshot() != before {
				t.Error("store changed")
			}
		})
	}
	t.Run("ErrMissing", func(t *testing.T) {
		e := newEnv(t)
		p := wantProblem(t, e.do("PUT", "/api/v1/supervising/settings", e.token("sara"), `{}`), http.StatusUnprocessableEntity)
		if len(p.Errors) != 1 || p.Errors[0].Field != "phone_number" {
			t.Errorf("errors = %+v", p.Errors)
		}
	})
}

// fuzzDecode checks the one promise about any body: a 2xx, or a 4xx
// problem whose status matches, never a panic or a 5xx.
// It builds its request itself: env's helpers belong to the *testing.F.
func fuzzDecode(t *testing.T, e *env, method, path, token, body string) {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(w, r)
	switch {
	case w.Code >= 200 && w.Code < 300:
	case w.Code >= 400 && w.Code < 500:
		if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("status %d with Content-Type %q", w.Code, ct)
		}
		var p struct{ Status int }
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Status != w.Code {
			t.Fatalf("bad problem %s (%v)", w.Body, err)
		}
	default:
		t.Fatalf("status %d for %q: %s", w.Code, body, w.Body)
	}
}

func FuzzDecodeLogin(f *testing.F) {
	for _, s := range []string{
		`{"username":"sara","password":"secret"}`, `{"username":"sara","password":"wrong"}`,
		`{"username":"","password":""}`, `{"username":1}`, `{"user":"sara"}`, `{`, `[]`, `null`, ``,
		`{"username":"sara","password":"secret"} x`, "{\"username\":\"\xff\",\"password\":\"secret\"}",
	} {
		f.Add(s)
	}
	e := newEnv(f)
	f.Fuzz(func(t *testing.T, body string) {
		fuzzDecode(t, e, "POST", "/api/v1/auth/login", "", body)
	})
}

func FuzzDecodeSettings(f *testing.F) {
	for _, s := range []string{
		`{"phone_number":"+358401234567"}`, `{"phone_number":"040 765 4321"}`, `{"phone_number":null}`,
		`{"phone_number":""}`, `{"phone_number":"+358401234568"}`, `{"phone_number":12}`, `{"phone_number":["x"]}`,
		`{"phone_number":"tel:+358401234567"}`, `{"phone_number":"00358401234567"}`, `{}`, `{"x":1}`, `{`,
	} {
		f.Add(s)
	}
	e := newEnv(f)
	tok := e.token("sara")
	f.Fuzz(func(t *testing.T, body string) {
		fuzzDecode(t, e, "PUT", "/api/v1/supervising/settings", tok, body)
	})
}

// FuzzDecodeRoutes covers the remaining decoders in one target: the mode
// switch, device registration, the operator's pool body, the audit query
// and path parameters.
func FuzzDecodeRoutes(f *testing.F) {
	type route struct{ method, path, token string }
	e := newEnv(f)
	sara := e.token("sara")
	routes := []route{
		{"PUT", "/api/v1/supervising/sessions/ses-sara/mode", sara},
		{"PUT", "/api/v1/devices/%s", sara},
		{"PUT", "/api/v1/admin/pools/%s", adminToken},
		{"GET", "/api/v1/admin/audit?%s", adminToken},
		{"PUT", "/api/v1/supervising/users/%s", sara},
	}
	for i, s := range []struct{ param, body string }{
		{"", `{"mode":"whisper"}`}, {"tok-1", `{"platform":"android"}`},
		{"sales", `{"org":"acme","name":"Sales","number":"+35891234500","members":["alice"]}`},
		{"org=acme&before=10&limit=5", ""}, {"bob", ""},
	} {
		f.Add(uint8(i), s.param, s.body)
		f.Add(uint8(i), s.param+"\x00", `{"mode":1,"platform":[],"members":{}}`)
	}
	f.Fuzz(func(t *testing.T, which uint8, param, body string) {
		r := routes[int(which)%len(routes)]
		path := r.path
		if strings.Contains(path, "%s") {
			p := url.PathEscape(param)
			if strings.Contains(path, "?") {
				p = url.QueryEscape(param)
				p = strings.ReplaceAll(p, "%3D", "=")
				p = strings.ReplaceAll(p, "%26", "&")
			}
			path = strings.Replace(path, "%s", p, 1)
		}
		fuzzDecode(t, e, r.method, path, r.token, body)
	})
}
