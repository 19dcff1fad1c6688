package httpapi_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestAdminBackup_Get(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		w := e.do("GET", "/api/v1/admin/backup", adminToken, nil)
		wantStatus(t, w, http.StatusOK)
		for k, want := range map[string]string{
			"Content-Type":        "application/octet-stream",
			"Content-Disposition": `attachment; filename="earshot-20251124T090000Z.db"`,
			"Cache-Control":       "no-store",
		} {
			if got := w.Header().Get(k); got != want {
				t.Errorf("%s: %q, want %q", k, got, want)
			}
		}
		if w.Body.String() != backupData {
			t.Errorf("body %q", w.Body)
		}
	})
	t.Run("ErrBeforeWriting", func(t *testing.T) {
		e := newEnv(t)
		e.store.BackupFunc = func(io.Writer) (int64, error) { return 0, errors.New("database not open") }
		w := e.do("GET", "/api/v1/admin/backup", adminToken, nil)
		if p := wantProblem(t, w, http.StatusInternalServerError); p.Detail != "internal error" {
			t.Errorf("detail %q", p.Detail)
		}
		if cd := w.Header().Get("Content-Disposition"); cd != "" {
			t.Errorf("problem sent as an attachment: %q", cd)
		}
	})
	t.Run("ErrWhileStreaming", func(t *testing.T) {
		// The status is out when the copy fails: the client must see a
		// broken transfer, not a short file.
		e := newEnv(t)
		e.store.BackupFunc = func(w io.Writer) (int64, error) {
			n, _ := io.WriteString(w, "bolt")
			w.(http.Flusher).Flush()
			return int64(n), errors.New("read page: input/output error")
		}
		srv := httptest.NewServer(e.srv.Handler())
		defer srv.Close()
		req, err := http.NewRequest("GET", srv.URL+"/api/v1/admin/backup", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+adminToken)
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err == nil {
			t.Fatalf("transfer ended cleanly with %q", body)
		}
		if res.StatusCode != http.StatusOK || string(body) != "bolt" {
			t.Errorf("status %d, body %q", res.StatusCode, body)
		}
	})
}
