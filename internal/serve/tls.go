package serve

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// The files of the development certificate in its directory.
const (
	devCertFile = "dev-cert.pem"
	devKeyFile  = "dev-key.pem"
)

// devCertRenewal is how long a kept development certificate must still be
// valid to be reused: one about to expire is replaced at start rather than
// failing clients while the server runs.
const devCertRenewal = 24 * time.Hour

// DevCertificate returns the self-signed development certificate for
// 127.0.0.1, ::1 and localhost kept in dir as dev-cert.pem and dev-key.pem,
// and the path of dev-cert.pem, which clients trust (Node: the ws "ca"
// option or NODE_EXTRA_CA_CERTS).
//
// The certificate in dir is reused while it parses, matches its key, names
// those hosts and stays valid for at least another day, so a client that
// trusts it reconnects after a restart. Otherwise a new one, valid for a
// year, replaces it, and log says why (nil log: nothing is logged).
func DevCertificate(dir string, log *slog.Logger) (tls.Certificate, string, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	certPath, keyPath := filepath.Join(dir, devCertFile), filepath.Join(dir, devKeyFile)
	cert, leaf, err := loadDevCertificate(certPath, keyPath, time.Now())
	switch {
	case err == nil:
		log.Info("dev TLS: reusing the certificate", "cert", certPath, "sha256", fingerprint(leaf), "expires", leaf.NotAfter.UTC())
		return cert, certPath, nil
	case errors.Is(err, fs.ErrNotExist):
		log.Info("dev TLS: no certificate yet, making one", "dir", dir)
	default:
		log.Warn("dev TLS: replacing the certificate", "cert", certPath, "reason", err.Error())
	}
	cert, leaf, err = newDevCertificate(certPath, keyPath)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	log.Info("dev TLS: new certificate", "cert", certPath, "sha256", fingerprint(leaf), "expires", leaf.NotAfter.UTC())
	return cert, certPath, nil
}

// loadDevCertificate reads a kept development certificate and checks it is
// fit for reuse at now. A missing file gives an error wrapping
// fs.ErrNotExist.
func loadDevCertificate(certPath, keyPath string, now time.Time) (tls.Certificate, *x509.Certificate, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("%s and %s: %w", certPath, keyPath, err)
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return tls.Certificate{}, nil, fmt.Errorf("%s: %w", certPath, err)
		}
	}
	if now.Before(leaf.NotBefore) {
		return tls.Certificate{}, nil, fmt.Errorf("%s: not valid before %s", certPath, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	if !now.Add(devCertRenewal).Before(leaf.NotAfter) {
		return tls.Certificate{}, nil, fmt.Errorf("%s: expires at %s", certPath, leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	for _, host := range []string{"127.0.0.1", "::1", "localhost"} {
		if err := leaf.VerifyHostname(host); err != nil {
			return tls.Certificate{}, nil, fmt.Errorf("%s: %w", certPath, err)
		}
	}
	return cert, leaf, nil
}

// newDevCertificate makes a development certificate and writes it and its
// key (readable by the owner only) to their paths.
func newDevCertificate(certPath, keyPath string) (tls.Certificate, *x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("dev TLS: key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("dev TLS: serial: %w", err)
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
		return tls.Certificate{}, nil, fmt.Errorf("dev TLS: certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("dev TLS: certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("dev TLS: key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(certPath), 0o755); err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("dev TLS: %w", err)
	}
	// The key first: a crash between the two writes leaves a pair that
	// does not match, which the next start replaces.
	if err := writeFileAtomic(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("dev TLS: %w", err)
	}
	if err := writeFileAtomic(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("dev TLS: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, leaf, nil
}

// writeFileAtomic writes data to a temporary file beside path and renames
// it into place, so a reader never sees half a file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// fingerprint is the SHA-256 of a certificate's DER, in hex.
func fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
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
