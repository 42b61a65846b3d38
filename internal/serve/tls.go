package serve

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// DevCertificate makes a self-signed certificate for 127.0.0.1, ::1 and
// localhost, valid for a year, and writes its PEM to dir/dev-cert.pem so
// clients can trust it (Node: the ws "ca" option or NODE_EXTRA_CA_CERTS).
func DevCertificate(dir string) (tls.Certificate, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("dev TLS: key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("dev TLS: serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "dsgen serve (development)", Organization: []string{"dsgen"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("dev TLS: certificate: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return tls.Certificate{}, "", fmt.Errorf("dev TLS: %w", err)
	}
	path := filepath.Join(dir, "dev-cert.pem")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(path, certPEM, 0o644); err != nil {
		return tls.Certificate{}, "", fmt.Errorf("dev TLS: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, path, nil
}

// SniffTLS serves TLS and plain connections on one listener: a connection
// whose first byte is a TLS handshake record (0x16) is served with cfg, any
// other as plain. The JS client needs this: it sends queries to
// http://host:port/graphql and opens wss://host:port/graphql/realtime.
func SniffTLS(ln net.Listener, cfg *tls.Config) net.Listener {
	return &sniffListener{Listener: ln, cfg: cfg}
}

type sniffListener struct {
	net.Listener
	cfg *tls.Config
}

// Accept returns at once; the first Read decides between TLS and plain, so
// one slow client cannot hold up Accept.
func (l *sniffListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &sniffConn{Conn: c, cfg: l.cfg}, nil
}

// sniffConn decides on its first Read (or Write) whether it speaks TLS.
type sniffConn struct {
	net.Conn
	cfg  *tls.Config
	once sync.Once
	rw   net.Conn
	err  error
}

// peeked is a conn whose first bytes were read ahead.
type peeked struct {
	net.Conn
	r *bufio.Reader
}

func (p *peeked) Read(b []byte) (int, error) { return p.r.Read(b) }

func (c *sniffConn) decide() {
	c.once.Do(func() {
		br := bufio.NewReader(c.Conn)
		first, err := br.Peek(1)
		if err != nil {
			c.err = err
			return
		}
		p := &peeked{Conn: c.Conn, r: br}
		if first[0] == 0x16 {
			c.rw = tls.Server(p, c.cfg)
			return
		}
		c.rw = p
	})
}

func (c *sniffConn) Read(b []byte) (int, error) {
	c.decide()
	if c.err != nil {
		return 0, c.err
	}
	return c.rw.Read(b)
}

func (c *sniffConn) Write(b []byte) (int, error) {
	c.decide()
	if c.err != nil {
		return 0, c.err
	}
	return c.rw.Write(b)
}

// Close closes the TCP connection. It does not send a TLS close_notify:
// the handshake may still be under way on another goroutine.
func (c *sniffConn) Close() error { return c.Conn.Close() }
