package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/earshot/earshot/httpapi"
)

// /metrics behind the admin token (earshot's default) and open.
func TestMetrics_Auth(t *testing.T) {
	for _, tt := range []struct {
		name       string
		auth       bool
		adminToken string
		header     string
		want       int
	}{
		{"Open", false, adminToken, "", http.StatusOK},
		{"AuthWithToken", true, adminToken, "Bearer " + adminToken, http.StatusOK},
		{"ErrAuthNoToken", true, adminToken, "", http.StatusUnauthorized},
		{"ErrAuthWrongToken", true, adminToken, "Bearer " + adminToken + "x", http.StatusUnauthorized},
		{"ErrAuthUserScheme", true, adminToken, "Basic " + adminToken, http.StatusUnauthorized},
		// Without an admin token configured /metrics is not there at all,
		// as the operator routes are not.
		{"ErrAuthNoneConfigured", true, "", "Bearer ", http.StatusNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(c *httpapi.Config) { c.MetricsAuth, c.AdminToken = tt.auth, tt.adminToken })
			r := httptest.NewRequest("GET", "/metrics", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			w := httptest.NewRecorder()
			e.srv.Handler().ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.want, w.Body)
			}
			if got := strings.Contains(w.Body.String(), "earshot_up 1"); got != (tt.want == http.StatusOK) {
				t.Errorf("body %q", w.Body)
			}
		})
	}
}
