package apiclient_test

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/earshot/earshot/httpapi"
)

var update = flag.Bool("update", false, "rewrite client.gen.go from the served document")

// TestGenerated regenerates the client from the document the server
// serves, with the oapi-codegen version go.mod pins (its tool directive),
// and fails if the committed client.gen.go differs: a change to the
// document must come with the client it generates.
func TestGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the generator")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	dir := t.TempDir()
	doc := filepath.Join(dir, "openapi.json")
	if err := os.WriteFile(doc, httpapi.OpenAPI(), 0o600); err != nil {
		t.Fatal(err)
	}
	// The same settings, written to the temporary directory; the
	// generator runs in the module's root, where `go tool` finds the
	// version go.mod pins.
	settings, err := os.ReadFile("oapi-codegen.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "client.gen.go")
	settings = bytes.Replace(settings, []byte("\noutput: client.gen.go\n"), []byte("\noutput: "+out+"\n"), 1)
	config := filepath.Join(dir, "oapi-codegen.yaml")
	if err := os.WriteFile(config, settings, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(goBin, "tool", "oapi-codegen", "-config", config, doc)
	cmd.Dir = "../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("oapi-codegen: %v\n%s", err, out)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("client.gen.go", got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile("client.gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("client.gen.go is not what oapi-codegen makes of the served OpenAPI document; " +
			"regenerate: go test ./internal/apiclient -run TestGenerated -update")
	}
}
