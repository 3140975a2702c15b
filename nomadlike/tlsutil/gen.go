// Package tlsutil makes and loads the certificates of a nomadlike cluster's
// mutual TLS, following Nomad's conventions: a private CA, servers' certificates
// valid for server.<region>.nomad, clients' for client.<region>.nomad, the
// CLI's for cli.<region>.nomad. The agent serves HTTP and Raft with a Store,
// which re-reads its files on Reload so new connections use new certificates.
package tlsutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// Role is what a certificate is for: a server, a client agent, or the CLI.
type Role string

// The roles of `tls cert create -server|-client|-cli`.
const (
	RoleServer Role = "server"
	RoleClient Role = "client"
	RoleCLI    Role = "cli"
)

// DefaultDomain is Nomad's TLS domain: certificate names end in .nomad.
const DefaultDomain = "nomad"

// Name is the name a certificate of role carries in region and domain,
// e.g. server.global.nomad: what verify_server_hostname checks.
func Name(role Role, region, domain string) string {
	return string(role) + "." + region + "." + domain
}

// CAOptions are `tls ca create`'s settings.
type CAOptions struct {
	// CommonName defaults to "Nomad Agent CA <serial>".
	CommonName string
	Days       int
	// Domain and AdditionalDomains are the DNS names the CA may sign when
	// NameConstraint is set (localhost is always added).
	Domain            string
	AdditionalDomains []string
	NameConstraint    bool
}

// CertOptions are `tls cert create`'s settings.
type CertOptions struct {
	Role   Role
	Region string
	Domain string
	Days   int
	// DNSNames and IPs are added to the role's name, localhost and 127.0.0.1.
	DNSNames []string
	IPs      []net.IP
}

// GenerateCA makes a self-signed ECDSA P-256 CA and returns its certificate
// and private key, PEM encoded.
func GenerateCA(o CAOptions) (certPEM, keyPEM []byte, err error) {
	if o.Days <= 0 {
		return nil, nil, fmt.Errorf("days = %d: a CA must be valid for at least one day", o.Days)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate the CA key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, nil, err
	}
	cn := o.CommonName
	if cn == "" {
		cn = "Nomad Agent CA " + serial.String()
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{CommonName: cn, Organization: []string{"nomadlike"},
			OrganizationalUnit: []string{"Nomad"}},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.AddDate(0, 0, o.Days),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		SubjectKeyId:          keyID(&key.PublicKey),
	}
	if o.NameConstraint {
		domain := o.Domain
		if domain == "" {
			domain = DefaultDomain
		}
		tmpl.PermittedDNSDomainsCritical = true
		tmpl.PermittedDNSDomains = append([]string{domain, "localhost"}, o.AdditionalDomains...)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("sign the CA certificate: %w", err)
	}
	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM, nil
}

// GenerateCert makes a certificate for o.Role signed by the CA (its
// certificate and key, PEM encoded) and returns it and its key, PEM encoded.
// Servers' and clients' certificates serve and dial (server and client
// auth); the CLI's only dials.
func GenerateCert(caCertPEM, caKeyPEM []byte, o CertOptions) (certPEM, keyPEM []byte, err error) {
	ca, caKey, err := parseCA(caCertPEM, caKeyPEM)
	if err != nil {
		return nil, nil, err
	}
	if o.Days <= 0 {
		return nil, nil, fmt.Errorf("days = %d: a certificate must be valid for at least one day", o.Days)
	}
	usage := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	switch o.Role {
	case RoleServer, RoleClient:
	case RoleCLI:
		usage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	default:
		return nil, nil, fmt.Errorf("unknown certificate role %q: use server, client or cli", o.Role)
	}
	if o.Region == "" {
		o.Region = "global"
	}
	if o.Domain == "" {
		o.Domain = DefaultDomain
	}
	name := Name(o.Role, o.Region, o.Domain)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate the key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:   serial,
		Subject:        pkix.Name{CommonName: name},
		DNSNames:       appendNew([]string{name, "localhost"}, o.DNSNames...),
		NotBefore:      now.Add(-time.Minute),
		NotAfter:       now.AddDate(0, 0, o.Days),
		KeyUsage:       x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:    usage,
		SubjectKeyId:   keyID(&key.PublicKey),
		AuthorityKeyId: ca.SubjectKeyId,
	}
	if o.Role != RoleCLI {
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	for _, ip := range o.IPs {
		if !containsIP(tmpl.IPAddresses, ip) {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("sign the %s certificate: %w", o.Role, err)
	}
	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM, nil
}

// ParseCertificate decodes the first certificate of a PEM file's content.
func ParseCertificate(certPEM []byte) (*x509.Certificate, error) {
	for {
		var b *pem.Block
		b, certPEM = pem.Decode(certPEM)
		if b == nil {
			return nil, errors.New("no PEM CERTIFICATE block found")
		}
		if b.Type == "CERTIFICATE" {
			return x509.ParseCertificate(b.Bytes)
		}
	}
}

func parseCA(certPEM, keyPEM []byte) (*x509.Certificate, any, error) {
	ca, err := ParseCertificate(certPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("CA certificate: %w", err)
	}
	if !ca.IsCA {
		return nil, nil, errors.New("CA certificate: it is not a CA (basic constraints say so); give the CA made by `tls ca create`")
	}
	b, _ := pem.Decode(keyPEM)
	if b == nil {
		return nil, nil, errors.New("CA key: no PEM block found")
	}
	var key any
	switch b.Type {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(b.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("CA key: %w", err)
	}
	return ca, key, nil
}

func encodeKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode the key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

func newSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("pick a serial number: %w", err)
	}
	return n, nil
}

func keyID(pub *ecdsa.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil
	}
	sum := sha256.Sum256(der)
	return sum[:20]
}

func appendNew(list []string, more ...string) []string {
	for _, m := range more {
		dup := false
		for _, l := range list {
			dup = dup || l == m
		}
		if !dup && m != "" {
			list = append(list, m)
		}
	}
	return list
}

func containsIP(list []net.IP, ip net.IP) bool {
	for _, l := range list {
		if l.Equal(ip) {
			return true
		}
	}
	return false
}
