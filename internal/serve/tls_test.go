package serve_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/serve"
)

// devCert runs DevCertificate and returns the certificate's SHA-256 and
// the log lines it wrote.
func devCert(t *testing.T, dir string) (cert tls.Certificate, path, sum string, logs []map[string]any) {
	t.Helper()
	var buf bytes.Buffer
	cert, path, err := serve.DevCertificate(dir, slog.New(slog.NewJSONHandler(&buf, nil)))
	if err != nil {
		t.Fatalf("DevCertificate(%s): %v", dir, err)
	}
	for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		var rec map[string]any
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		logs = append(logs, rec)
	}
	s := sha256.Sum256(cert.Certificate[0])
	return cert, path, string(s[:]), logs
}

// logged reports whether logs hold a line at level whose message contains msg.
func logged(logs []map[string]any, level, msg string) bool {
	for _, l := range logs {
		if l["level"] == level && strings.Contains(l["msg"].(string), msg) {
			return true
		}
	}
	return false
}

// serveTLS serves cert on a loopback port the way dsgen serve does (TLS and
// plain sniffed on one listener) until the test ends or stop is called.
func serveTLS(t *testing.T, cert tls.Certificate) (addr string, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })}
	done := make(chan error, 1)
	go func() {
		done <- srv.Serve(serve.SniffTLS(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}))
	}()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	}
	t.Cleanup(stop)
	return ln.Addr().String(), stop
}

// trusting returns an HTTPS client trusting only the PEM certificate at path.
func trusting(t *testing.T, path string) *http.Client {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("%s holds no PEM certificate", path)
	}
	return &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

func TestDevCertificateKeptAcrossRestarts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	cert, path, first, logs := devCert(t, dir)
	if !logged(logs, "INFO", "new certificate") {
		t.Errorf("first start did not log a new certificate: %v", logs)
	}
	if st, err := os.Stat(filepath.Join(dir, "dev-key.pem")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("dev-key.pem: %v, %v; want a file readable by its owner only", st, err)
	}
	// A client trusts the certificate of the first run...
	client := trusting(t, path)
	addr, stop := serveTLS(t, cert)
	get := func(addr string) error {
		resp, err := client.Get("https://" + addr + "/")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	if err := get(addr); err != nil {
		t.Fatalf("HTTPS with the dev certificate: %v", err)
	}
	stop()

	// ...and reaches the restarted server, which kept it.
	cert2, path2, second, logs := devCert(t, dir)
	if second != first || path2 != path {
		t.Fatalf("restart made a new certificate (%s, %x) instead of reusing %s (%x)", path2, second, path, first)
	}
	if !logged(logs, "INFO", "reusing") {
		t.Errorf("restart did not log the reuse: %v", logs)
	}
	client.CloseIdleConnections()
	addr2, _ := serveTLS(t, cert2)
	if err := get(addr2); err != nil {
		t.Fatalf("the client trusting the first certificate cannot reach the restarted server: %v", err)
	}
}

func TestDevCertificateReplacedWhenUnfit(t *testing.T) {
	cases := []struct {
		name   string
		damage func(t *testing.T, dir string)
		reason string
	}{
		{"expired", func(t *testing.T, dir string) {
			writePair(t, dir, time.Now().Add(-48*time.Hour), time.Now().Add(-time.Hour), "127.0.0.1")
		}, "expires at"},
		{"expiring within a day", func(t *testing.T, dir string) {
			writePair(t, dir, time.Now().Add(-48*time.Hour), time.Now().Add(time.Hour), "127.0.0.1")
		}, "expires at"},
		{"truncated certificate", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "dev-cert.pem")
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b[:len(b)/2], 0o644); err != nil {
				t.Fatal(err)
			}
		}, "dev-cert.pem"},
		{"key of another certificate", func(t *testing.T, dir string) {
			other := t.TempDir()
			writePair(t, other, time.Now().Add(-time.Hour), time.Now().Add(90*24*time.Hour), "127.0.0.1")
			b, err := os.ReadFile(filepath.Join(other, "dev-key.pem"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "dev-key.pem"), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "private key does not match"},
		{"wrong hosts", func(t *testing.T, dir string) {
			writePair(t, dir, time.Now().Add(-time.Hour), time.Now().Add(90*24*time.Hour), "10.0.0.1")
		}, "not 127.0.0.1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			_, _, first, _ := devCert(t, dir)
			tc.damage(t, dir)
			cert, path, second, logs := devCert(t, dir)
			if second == first {
				t.Fatal("the certificate was kept")
			}
			found := false
			for _, l := range logs {
				if l["level"] == "WARN" && strings.Contains(l["msg"].(string), "replacing") && strings.Contains(l["reason"].(string), tc.reason) {
					found = true
				}
			}
			if !found {
				t.Errorf("no WARN line giving the reason %q: %v", tc.reason, logs)
			}
			// The replacement is served and trusted from its file, and kept.
			addr, _ := serveTLS(t, cert)
			resp, err := trusting(t, path).Get("https://" + addr + "/")
			if err != nil {
				t.Fatalf("HTTPS with the replacement: %v", err)
			}
			resp.Body.Close()
			if _, _, third, _ := devCert(t, dir); third != second {
				t.Error("the replacement was not kept")
			}
		})
	}

	t.Run("certificate without a key (older dsgen)", func(t *testing.T) {
		dir := t.TempDir()
		devCert(t, dir)
		if err := os.Remove(filepath.Join(dir, "dev-key.pem")); err != nil {
			t.Fatal(err)
		}
		if _, _, _, logs := devCert(t, dir); !logged(logs, "INFO", "new certificate") {
			t.Errorf("no new certificate logged: %v", logs)
		}
	})
}

// writePair writes a self-signed certificate for ip valid in [from, to)
// and its key into dir as dev-cert.pem and dev-key.pem.
func writePair(t *testing.T, dir string, from, to time.Time, ip string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "test"},
		NotBefore:    from, NotAfter: to,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.ParseIP(ip)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "dev-cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "dev-key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
}
