package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/directory"
)

const directoryFile = `organizations:
  - id: acme
    name: Acme Oy
users:
  - id: dave
    org: acme
    name: Dave
    roles: [agent]
    endpoint: PJSIP/1009
    password: s3cret
pools:
  - id: billing
    org: acme
    number: "09 1234 502"
    members: [dave]
`

func TestAdminDirectory_Post(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		w := e.do("POST", "/api/v1/admin/directory", adminToken, yamlBody(directoryFile))
		wantStatus(t, w, http.StatusOK)
		wantJSON(t, w, `{"result":"orgs 1; users 1; pools 1"}`)
		dave := e.store.users["dave"]
		if dave.Endpoint != "PJSIP/1009" || bcrypt.CompareHashAndPassword([]byte(dave.PasswordHash), []byte("s3cret")) != nil {
			t.Errorf("stored %+v", dave)
		}
		if p := e.store.pools["billing"]; p.Number != "+35891234502" || !slices.Equal(p.Members, []string{"dave"}) {
			t.Errorf("stored %+v", p)
		}
		if o := e.store.orgs["acme"]; o.Name != "Acme Oy" || !o.Has(earshot.FeatureSupervising) {
			t.Errorf("stored %+v", o)
		}
	})
	t.Run("TextYAML", func(t *testing.T) {
		e := newEnv(t)
		wantStatus(t, e.raw("POST", "/api/v1/admin/directory", adminToken, "text/yaml; charset=utf-8", directoryFile), http.StatusOK)
	})
	t.Run("LargerThanJSONBodies", func(t *testing.T) {
		// Past the 64 KiB of JSON bodies, within the 8 MiB of files.
		e := newEnv(t)
		body := directoryFile + strings.Repeat("# padding\n", 20<<10)
		wantStatus(t, e.do("POST", "/api/v1/admin/directory", adminToken, yamlBody(body)), http.StatusOK)
	})

	problems := `organizations:
  - id: acme
users:
  - id: dave
    org: acmee
    roles: [agent]
    endpoint: PJSIP/1009
  - id: erin
    org: acme
    roles: [boss]
`
	cases := []struct {
		name, ctype, body string
		status            int
		errors            []string // "field: detail" of each field error
		detail            string   // in the problem's detail
	}{
		{"ErrProblems", "application/yaml", problems, 422, []string{
			`users[0] (dave): line 5: org "acmee" does not exist`,
			`users[1] (erin): line 10: role "boss" is not one of supervisor, agent`,
		}, `users[0] (dave): line 5: org "acmee" does not exist`},
		{"ErrSyntax", "application/yaml", "organizations: [\n", 422, []string{
			"(body): line 1: YAML: did not find expected node content",
		}, "YAML"},
		{"ErrEmpty", "application/yaml", "", 422, []string{"(body): the file is empty"}, "empty"},
		{"ErrJSON", "application/json", directoryFile, 415, nil, "application/yaml or text/yaml"},
		{"ErrNoContentType", "", directoryFile, 415, nil, "Content-Type"},
		{"ErrTooLarge", "application/yaml", directoryFile + strings.Repeat("#", directory.MaxFileSize), 413, nil, "8192 KiB"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			before := e.store.snapshot()
			p := wantProblem(t, e.raw("POST", "/api/v1/admin/directory", adminToken, tc.ctype, tc.body), tc.status)
			var got []string
			for _, fe := range p.Errors {
				got = append(got, fe.Field+": "+fe.Detail)
			}
			if !slices.Equal(got, tc.errors) {
				t.Errorf("errors\n got %q\nwant %q", got, tc.errors)
			}
			if !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("detail %q lacks %q", p.Detail, tc.detail)
			}
			if e.store.snapshot() != before {
				t.Error("store changed")
			}
		})
	}

	storeErrs := []struct {
		name   string
		err    error
		status int
		detail string
	}{
		{"ErrConflict", earshot.Errorf(earshot.ECONFLICT, "endpoint PJSIP/1009 is bound to both dave and carl"), 409, "both dave and carl"},
		{"ErrStoreInvalid", earshot.Errorf(earshot.EINVALID, "user dave: id is longer than 255 bytes"), 422, "(body): user dave"},
		{"ErrInternal", errors.New("disk on fire"), 500, "internal error"},
	}
	for _, tc := range storeErrs {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			var got *directory.File
			e.store.ImportDirectoryFunc = func(_ context.Context, f *directory.File) (string, error) {
				got = f
				return "", tc.err
			}
			p := wantProblem(t, e.do("POST", "/api/v1/admin/directory", adminToken, yamlBody(directoryFile)), tc.status)
			if !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("detail %q lacks %q", p.Detail, tc.detail)
			}
			if got == nil || len(got.Users) != 1 || got.Users[0].ID != "dave" {
				t.Errorf("store given %+v", got)
			}
		})
	}

	t.Run("ErrTooLargeChunked", func(t *testing.T) {
		e := newEnv(t)
		// No Content-Length: the limit applies while reading.
		body := io.MultiReader(strings.NewReader(directoryFile), strings.NewReader(strings.Repeat("#", directory.MaxFileSize)))
		r := httptest.NewRequest("POST", "/api/v1/admin/directory", body)
		r.ContentLength = -1
		r.Header.Set("Content-Type", "application/yaml")
		r.Header.Set("Authorization", "Bearer "+adminToken)
		before := e.store.snapshot()
		w := e.serve(r)
		if p := wantProblem(t, w, http.StatusRequestEntityTooLarge); !strings.Contains(p.Detail, "8192 KiB") {
			t.Errorf("detail %q", p.Detail)
		}
		if e.store.snapshot() != before {
			t.Error("store changed")
		}
	})
}

// A file with thousands of problems, or aliases that expand it a
// millionfold, is answered with a bounded problem: 50 field errors and a
// count of the rest, or one error naming the aliases.
func TestAdminDirectory_PostBounded(t *testing.T) {
	var many strings.Builder
	many.WriteString("organizations: [{id: acme}]\nusers:\n")
	for i := range 2000 {
		fmt.Fprintf(&many, "  - {id: u%d, org: acme, roles: [supervisor], passwrd: %s}\n", i, strings.Repeat("x", 400))
	}
	var bomb strings.Builder
	bomb.WriteString(`a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]` + "\n")
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g"} {
		fmt.Fprintf(&bomb, "%s: &%s [%s]\n", n, n, strings.TrimSuffix(strings.Repeat("*"+prev+", ", 10), ", "))
		prev = n
	}
	bomb.WriteString("organizations: [{id: acme}]\nusers: [{id: u, org: acme, roles: *g}]\n")
	for _, tc := range []struct {
		name, body string
		errors     int
		last       string
	}{
		{"ManyProblems", many.String(), 51, "(body): and 1950 more problems"},
		{"AliasBomb", bomb.String(), 1, "aliases expand"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			w := e.raw("POST", "/api/v1/admin/directory", adminToken, "application/yaml", tc.body)
			p := wantProblem(t, w, http.StatusUnprocessableEntity)
			last := p.Errors[len(p.Errors)-1]
			if len(p.Errors) != tc.errors || !strings.Contains(last.Field+": "+last.Detail, tc.last) {
				t.Fatalf("%d errors, the last %+v", len(p.Errors), last)
			}
			if n := w.Body.Len(); n > 64<<10 {
				t.Fatalf("answer of %d bytes", n)
			}
			t.Logf("answer of %d bytes", w.Body.Len())
		})
	}
}
