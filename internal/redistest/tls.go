package redistest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TLSServer is a redis-server that also listens with TLS, on TLSPort, with
// a certificate for 127.0.0.1 signed by a throw-away CA.
type TLSServer struct {
	*Server
	// TLSPort is the TLS listener's port.
	TLSPort int
	// CAPool trusts the server's certificate.
	CAPool *x509.CertPool
}

// StartTLS starts a redis-server with a TLS port next to its plain one;
// clients are not asked for certificates. It is stopped in tb.Cleanup.
func StartTLS(tb testing.TB, args ...string) *TLSServer {
	tb.Helper()
	dir := tb.TempDir()
	certFile, keyFile, caPool := SelfSigned(tb, dir)
	port := FreePort(tb)
	s := Start(tb, append([]string{
		"--tls-port", strconv.Itoa(port),
		"--tls-cert-file", certFile,
		"--tls-key-file", keyFile,
		"--tls-ca-cert-file", certFile,
		"--tls-auth-clients", "no",
	}, args...)...)
	// Start waited for the plain port; wait for the TLS one too.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := tls.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), &tls.Config{RootCAs: caPool})
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("redistest: TLS port %d: %v", port, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return &TLSServer{Server: s, TLSPort: port, CAPool: caPool}
}

// TLSAddr returns host:port of the TLS listener.
func (s *TLSServer) TLSAddr() string { return "127.0.0.1:" + strconv.Itoa(s.TLSPort) }

// SelfSigned writes a throw-away self-signed certificate for 127.0.0.1
// (its own CA) and its key into dir as cert.pem and key.pem, and returns
// their paths and a pool that trusts the certificate. It fails tb on any
// error. Tests of TLS servers other than redis-server use it too.
func SelfSigned(tb testing.TB, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "redistest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
