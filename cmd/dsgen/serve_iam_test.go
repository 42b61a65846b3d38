package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsgen/dsgen/runtime/appsync/client"
)

const iamNotes = `
type Note @model @auth(rules: [{allow: private, provider: iam}]) { id: ID! content: String }
`

const iamCredsFile = `[
  {"accessKeyId": "AKIDGATEWAY", "secretAccessKey": "gateway-secret", "role": "authenticated"}
]`

// iamPost POSTs a GraphQL request signed by the Go client for region with
// the key id and secret given.
func iamPost(t *testing.T, url, region, keyID, secret, query string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query})
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	a := client.IAM(region, func(context.Context) (client.Credentials, error) {
		return client.Credentials{AccessKeyID: keyID, SecretAccessKey: secret}, nil
	})
	if err := a.Authorize(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// TestServeIAMCredentials runs dsgen serve with the IAM credentials file
// named by DSGEN_SERVE_IAM_CREDENTIALS, then by iam-credentials and
// iam-region in dsgen.yml (a path relative to the file): the listed
// credential signs requests that pass a private iam rule, a wrong secret
// or another region is refused, and a bad file keeps the server from
// starting with an error naming the file and the entry, never the secret.
func TestServeIAMCredentials(t *testing.T) {
	bin := dsgenBinary(t)
	dir := newProject(t, iamNotes)
	schema := filepath.Join(dir, "schema.graphql")
	must(t, os.WriteFile(filepath.Join(dir, "iam.json"), []byte(iamCredsFile), 0o600))

	cmd := exec.Command(bin, "serve", "--schema", schema, "--in-memory", "--addr", "127.0.0.1:0")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DSGEN_SERVE_IAM_CREDENTIALS="+filepath.Join(dir, "iam.json"))
	p := startServeCmd(t, cmd)
	url := "http://" + p.addr + "/graphql"
	if status, out := iamPost(t, url, "us-east-1", "AKIDGATEWAY", "gateway-secret", `mutation { createNote(input: {id: "n1", content: "hi"}) { id } }`); status != http.StatusOK || strings.Contains(out, "errors") {
		t.Fatalf("createNote signed by the listed credential: %d %s\n%s", status, out, p.log())
	}
	if status, out := iamPost(t, url, "us-east-1", "AKIDGATEWAY", "wrong", `{ listNotes { items { id } } }`); status != http.StatusUnauthorized || !strings.Contains(out, "signature we calculated does not match") {
		t.Errorf("wrong secret: %d %s, want 401", status, out)
	}
	if strings.Contains(p.log(), "gateway-secret") {
		t.Errorf("the server logged the secret:\n%s", p.log())
	}
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit code after SIGTERM = %d\n%s", code, p.log())
	}

	// dsgen.yml: the path is relative to the file; the region is set.
	must(t, os.WriteFile(filepath.Join(dir, "dsgen.yml"), []byte("schema: schema.graphql\nserve:\n  in-memory: true\n  addr: 127.0.0.1:0\n  iam-credentials: iam.json\n  iam-region: eu-west-1\n"), 0o644))
	sub := filepath.Join(dir, "sub")
	must(t, os.Mkdir(sub, 0o755))
	cmd = exec.Command(bin, "serve")
	cmd.Dir = sub
	p = startServeCmd(t, cmd)
	url = "http://" + p.addr + "/graphql"
	if status, out := iamPost(t, url, "eu-west-1", "AKIDGATEWAY", "gateway-secret", `{ listNotes { items { id } } }`); status != http.StatusOK || strings.Contains(out, "errors") {
		t.Errorf("signed for the configured region: %d %s\n%s", status, out, p.log())
	}
	if status, out := iamPost(t, url, "us-east-1", "AKIDGATEWAY", "gateway-secret", `{ listNotes { items { id } } }`); status != http.StatusUnauthorized || !strings.Contains(out, "valid region, not 'us-east-1'") {
		t.Errorf("signed for another region: %d %s, want 401", status, out)
	}
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit code after SIGTERM = %d\n%s", code, p.log())
	}
	must(t, os.Remove(filepath.Join(dir, "dsgen.yml")))

	dup := filepath.Join(dir, "dup.json")
	must(t, os.WriteFile(dup, []byte(`[{"accessKeyId": "AKID1", "secretAccessKey": "topsecret", "role": "authenticated"}, {"accessKeyId": "AKID1", "secretAccessKey": "topsecret", "role": "unauthenticated"}]`), 0o600))
	r := runIn(t, bin, dir, "serve", "--schema", schema, "--in-memory", "--addr", "127.0.0.1:0", "--iam-credentials", dup)
	if r.code != 2 || !strings.Contains(r.stderr, dup) || !strings.Contains(r.stderr, "entry 1: accessKeyId AKID1 is also entry 0") || strings.Contains(r.stderr, "topsecret") {
		t.Errorf("duplicate key id: exit %d, stderr %q; want 2 (a usage error), the file and the entry, not the secret", r.code, r.stderr)
	}
	r = runIn(t, bin, dir, "serve", "--schema", schema, "--in-memory", "--addr", "127.0.0.1:0", "--iam-region", "eu-west-1")
	if r.code != 2 || !strings.Contains(r.stderr, "--iam-region eu-west-1: set --iam-credentials too") {
		t.Errorf("--iam-region alone: exit %d, stderr %q", r.code, r.stderr)
	}
}
