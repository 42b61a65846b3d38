package main

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

// TestServeCORSFlag runs dsgen serve with --cors-origin and wants a
// browser's preflight answered for the listed origins only.
func TestServeCORSFlag(t *testing.T) {
	bin := dsgenBinary(t)
	dir := newProject(t, twoModels)
	p := startServe(t, bin, "--schema", filepath.Join(dir, "schema.graphql"), "--in-memory",
		"--addr", "127.0.0.1:0", "--api-key", "da2-test",
		"--cors-origin", "http://app.test,localhost:3000", "--cors-origin", "*.example.com")
	client := &http.Client{Timeout: time.Minute}
	for origin, want := range map[string]string{
		"http://app.test":         "http://app.test",
		"http://localhost:3000":   "http://localhost:3000",
		"https://web.example.com": "https://web.example.com",
		"https://app.test":        "",
		"http://evil.test":        "",
	} {
		req, _ := http.NewRequest(http.MethodOptions, "http://"+p.addr+"/graphql", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type,x-api-key")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		wantStatus := http.StatusNoContent
		if want == "" {
			wantStatus = http.StatusForbidden
		}
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != want || resp.StatusCode != wantStatus {
			t.Errorf("preflight from %s: HTTP %d, Access-Control-Allow-Origin %q; want %d, %q", origin, resp.StatusCode, got, wantStatus, want)
		}
	}
	if code := p.stop(t); code != 0 {
		t.Errorf("exit %d:\n%s", code, p.log())
	}
}
