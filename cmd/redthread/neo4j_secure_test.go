package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redthread/redthread/graph"
)

// testPKI writes a private certificate authority (ca.pem) to dir, and a
// server certificate it signed for localhost and 127.0.0.1 with its key,
// as deploy/local/neo4j expects them (tls/public.crt, tls/private.key).
// It returns the CA file and the server's TLS directory.
func testPKI(t *testing.T, dir string) (caFile, tlsDir string) {
	t.Helper()
	now := time.Now()
	// issue makes a key and a certificate for tmpl, signed by parent's key
	// (self-signed when parent is nil).
	issue := func(tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*ecdsa.PrivateKey, *x509.Certificate, []byte) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(24*time.Hour)
		if parent == nil {
			parent, parentKey = tmpl, key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return key, cert, der
	}
	caKey, ca, caDER := issue(&x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "redthread test CA"},
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}, nil, nil)
	srvKey, _, srvDER := issue(&x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, ca, caKey)
	keyDER, err := x509.MarshalPKCS8PrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	tlsDir = filepath.Join(dir, "tls")
	caFile = filepath.Join(dir, "ca.pem")
	write := func(path, typ string, der []byte) {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(caFile, "CERTIFICATE", caDER)
	write(filepath.Join(tlsDir, "public.crt"), "CERTIFICATE", srvDER)
	write(filepath.Join(tlsDir, "private.key"), "PRIVATE KEY", keyDER)
	return caFile, tlsDir
}

// TestNeo4jAuthAndTLS runs the graph on a real Neo4j that requires TLS and
// a password: with the private CA and the password, events reach the graph
// through bolt+s://; a wrong password, no user, or an untrusted
// certificate stop serve at once with an error that says which, and a
// plain bolt:// connection is reported as needing TLS.
func TestNeo4jAuthAndTLS(t *testing.T) {
	needNeo4j(t)
	const password = "red-thread-test-pw"
	caFile, tlsDir := testPKI(t, t.TempDir())
	n := privateNeo4j{port: 7696, home: t.TempDir(), env: []string{"NEO4J_PASSWORD=" + password, "NEO4J_TLS_DIR=" + tlsDir}}
	n.run(t, "start")
	t.Cleanup(func() { n.run(t, "stop") })
	secure := fmt.Sprintf("bolt+s://localhost:%d", n.port)

	t.Run("trusted CA and password", func(t *testing.T) {
		t.Setenv("REDTHREAD_NEO4J_PASSWORD", password)
		srv := startServer(t, t.TempDir(), "--graph", secure, "--neo4j-user", "neo4j", "--neo4j-ca", caFile)
		const id = "55555555-4444-4555-8666-000000000001"
		status, body, err := postJSON(t.Context(), srv.URL+"/api/v1/lineage",
			runEvent(id, "COMPLETE", "secure.job", "s3://sec", "in", "s3://sec", "out"))
		if err != nil || status != http.StatusCreated {
			t.Fatalf("post: %d %s %v", status, body, err)
		}
		waitReady(t, srv, true)
		if got := srv.node(t, graph.RunKey(id)); got == nil {
			t.Fatalf("run %s is not in the graph on the secured Neo4j\n%s", id, srv.logs)
		}
	})

	fails := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"wrong password", []string{"REDTHREAD_NEO4J_PASSWORD=not-the-password"},
			[]string{"--graph", secure, "--neo4j-user", "neo4j", "--neo4j-ca", caFile}, `refused the password of user "neo4j"`},
		{"no user", nil,
			[]string{"--graph", secure, "--neo4j-ca", caFile}, "requires authentication, and no user is configured"},
		{"untrusted certificate", []string{"REDTHREAD_NEO4J_PASSWORD=" + password},
			[]string{"--graph", secure, "--neo4j-user", "neo4j"}, "TLS certificate did not verify"},
		{"CA file on a URI without verification", []string{"REDTHREAD_NEO4J_PASSWORD=" + password},
			[]string{"--graph", fmt.Sprintf("bolt+ssc://localhost:%d", n.port), "--neo4j-user", "neo4j", "--neo4j-ca", caFile}, "-neo4j-ca needs a bolt+s:// or neo4j+s://"},
		{"CA file without a certificate", []string{"REDTHREAD_NEO4J_PASSWORD=" + password},
			[]string{"--graph", secure, "--neo4j-user", "neo4j", "--neo4j-ca", filepath.Join(tlsDir, "private.key")}, "no PEM certificate"},
	}
	for _, tc := range fails {
		t.Run(tc.name, func(t *testing.T) {
			// serve must give up by itself: a server that keeps running
			// (waiting for a Neo4j that will never accept it) is killed
			// after a minute, and the test fails.
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, binPath, append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir()}, tc.args...)...)
			cmd.Env = append(os.Environ(), tc.env...)
			var errb bytes.Buffer
			cmd.Stderr = &errb
			err := cmd.Run()
			stderr := errb.String()
			if ctx.Err() != nil {
				t.Fatalf("serve was still running after a minute; want it to fail at once saying %q:\n%s", tc.want, stderr)
			}
			if err == nil || !strings.Contains(stderr, tc.want) {
				t.Fatalf("serve ended with %v; want a failure saying %q:\n%s", err, tc.want, stderr)
			}
			if strings.Contains(stderr, password) || strings.Contains(stderr, "not-the-password") {
				t.Fatalf("the error shows the password:\n%s", stderr)
			}
		})
	}

	t.Run("plain bolt to a TLS-only server", func(t *testing.T) {
		t.Setenv("REDTHREAD_NEO4J_PASSWORD", password)
		srv := startServer(t, t.TempDir(), "--graph", fmt.Sprintf("bolt://localhost:%d", n.port), "--neo4j-user", "neo4j")
		rd := waitReady(t, srv, false)
		if !strings.Contains(rd.Store, "requires TLS") {
			t.Fatalf("readyz should say the server may require TLS; got %q", rd.Store)
		}
	})
}
