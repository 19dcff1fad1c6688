package httpapi_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/earshot/earshot/httpapi"
)

func TestOpenAPI_Get(t *testing.T) {
	e := newEnv(t)
	w := e.do("GET", "/api/v1/openapi.json", "", nil)
	wantStatus(t, w, http.StatusOK)
	var doc struct {
		OpenAPI    string                               `json:"openapi"`
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components map[string]map[string]any            `json:"components"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q", doc.OpenAPI)
	}

	t.Run("RoutesDocumented", func(t *testing.T) {
		// Every route Echo serves is documented, and every documented
		// route is served.
		var documented []string
		for path, ops := range doc.Paths {
			for method := range ops {
				documented = append(documented, strings.ToUpper(method)+" "+path)
			}
		}
		served := httpapi.Routes(e.srv)
		slices.Sort(documented)
		slices.Sort(served)
		for _, r := range served {
			if !slices.Contains(documented, r) {
				t.Errorf("served, not documented: %s", r)
			}
		}
		for _, r := range documented {
			if !slices.Contains(served, r) {
				t.Errorf("documented, not served: %s", r)
			}
		}
		if len(served) < 20 {
			t.Errorf("only %d routes served", len(served))
		}
	})
	t.Run("Operations", func(t *testing.T) {
		for path, ops := range doc.Paths {
			for method, op := range ops {
				if op["security"] == nil {
					t.Errorf("%s %s: no security", method, path)
				}
				responses, _ := op["responses"].(map[string]any)
				if responses["500"] == nil {
					t.Errorf("%s %s: no 500 problem", method, path)
				}
				secured := len(op["security"].([]any)) > 0
				if secured && responses["401"] == nil {
					t.Errorf("%s %s: secured without 401", method, path)
				}
			}
		}
	})
	t.Run("MediaTypes", func(t *testing.T) {
		// The directory is uploaded as YAML and the backup downloaded as a
		// file; everything else is JSON.
		at := func(v any, keys ...string) any {
			for _, k := range keys {
				m, _ := v.(map[string]any)
				v = m[k]
			}
			return v
		}
		dir := doc.Paths["/api/v1/admin/directory"]["post"]
		for _, m := range []string{"application/yaml", "text/yaml"} {
			if at(dir, "requestBody", "content", m) == nil {
				t.Errorf("directory import does not take %s", m)
			}
		}
		if at(dir, "requestBody", "content", "application/json") != nil {
			t.Error("directory import documented as JSON")
		}
		backup := doc.Paths["/api/v1/admin/backup"]["get"]
		if at(backup, "responses", "200", "content", "application/octet-stream") == nil ||
			at(backup, "responses", "200", "headers", "Content-Disposition") == nil {
			t.Errorf("backup response = %v", at(backup, "responses", "200"))
		}
	})
	t.Run("RefsResolve", func(t *testing.T) {
		var walk func(v any)
		walk = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				if ref, ok := v["$ref"].(string); ok {
					parts := strings.Split(strings.TrimPrefix(ref, "#/components/"), "/")
					if len(parts) != 2 || doc.Components[parts[0]][parts[1]] == nil {
						t.Errorf("unresolved $ref %s", ref)
					}
				}
				for _, x := range v {
					walk(x)
				}
			case []any:
				for _, x := range v {
					walk(x)
				}
			}
		}
		var all any
		_ = json.Unmarshal(w.Body.Bytes(), &all)
		walk(all)
		for _, s := range []string{"bearerAuth", "adminToken"} {
			if doc.Components["securitySchemes"][s] == nil {
				t.Errorf("no security scheme %s", s)
			}
		}
	})
}
