package ingress

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/nomadlike/nomadlike/internal/freeport"
	"github.com/nomadlike/nomadlike/internal/pebbletest"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestACMEWithPebble: two ingress clients share the variables. The second
// routes a host and orders its certificate from the test CA, whose HTTP-01
// validation reaches the first client's HTTP port: it answers from the
// variable the second wrote. The second serves the certificate, verified
// against the CA's root; the first, given the route, serves the stored
// certificate without ordering; it is renewed before it expires.
func TestACMEWithPebble(t *testing.T) {
	httpPort := freeport.TCP(t)
	ca := pebbletest.Start(t, httpPort, 15*time.Second)
	vars := newMemVars()
	const prefix = structs.IngressVariablePrefix + "/certs"
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "host=%s proto=%s", r.Host, r.Header.Get("X-Forwarded-Proto"))
	}))
	defer up.Close()
	const host = "app.acme.test"
	regs := []*structs.ServiceRegistration{reg(t, up.Listener.Addr().String(), "urlprefix-"+host+"/")}
	acmeCfg := &ACMEConfig{DirectoryURL: ca.DirectoryURL, CAFile: ca.CAFile, Email: "ops@acme.test", Domains: []string{"*.acme.test"}}
	var gs []*Ingress
	for i, port := range []int{httpPort, freeport.TCP(t)} {
		gs = append(gs, start(t, Config{HTTPPort: port, HTTPSPort: freeport.TCP(t), CertVariablesPrefix: prefix, Variables: vars,
			NodeID: "node-" + strconv.Itoa(i), ACME: acmeCfg}))
	}
	gs[1].Set(regs)

	get := func(g *Ingress) (string, *tls.ConnectionState, error) {
		_, port, _ := net.SplitHostPort(g.HTTPSAddr())
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Roots},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, g.HTTPSAddr())
			}}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("https://" + host + ":" + port + "/x")
		if err != nil {
			return "", nil, err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b), resp.TLS, nil
	}
	var first *tls.ConnectionState
	for i, g := range []*Ingress{gs[1], gs[0]} {
		if i == 1 {
			g.Set(regs)
		}
		waitFor(t, 60*time.Second, "HTTPS with a certificate from the test CA", func() (bool, string) {
			body, st, err := get(g)
			if err != nil {
				return false, err.Error()
			}
			if !strings.HasPrefix(body, "host="+host) || !strings.HasSuffix(body, "proto=https") {
				t.Fatalf("through HTTPS: %q", body)
			}
			if first == nil {
				first = st
			}
			return true, ""
		})
	}
	if n := testutil.ToFloat64(gs[0].tlsm.orders.WithLabelValues("ok")); n != 0 {
		t.Fatalf("the first client ordered %v certificates; the stored one serves it", n)
	}
	if n := testutil.ToFloat64(gs[1].tlsm.orders.WithLabelValues("ok")); n != 1 {
		t.Fatalf("the second client made %v orders, want 1", n)
	}
	v, _ := vars.Get(context.Background(), prefix+"/app_acme_test")
	if v == nil || v.Items["cert"] == "" || v.Items["key"] == "" {
		t.Fatalf("the certificate is not stored in its variable: %+v", v)
	}

	// Renewal: a third of the 15s lifetime before it expires.
	serial := first.PeerCertificates[0].SerialNumber
	waitFor(t, 30*time.Second, "a renewed certificate served", func() (bool, string) {
		_, st, err := get(gs[1])
		if err != nil {
			return false, err.Error()
		}
		return st.PeerCertificates[0].SerialNumber.Cmp(serial) != 0, "still the first certificate"
	})
	for _, p := range []string{prefix + "/_acme/order/app_acme_test"} {
		waitUntil(t, "the order lease released", func() (bool, string) {
			v, _ := vars.Get(context.Background(), p)
			return v == nil, fmt.Sprintf("%s still held", p)
		})
	}
}

// TestACMELease: one client's order lease keeps the others from ordering
// the same name until it is released or expires.
func TestACMELease(t *testing.T) {
	vars := newMemVars()
	mk := func(node string) *acmeManager {
		g, err := New(Config{HTTPSPort: 1, CertVariablesPrefix: structs.IngressVariablePrefix + "/certs", Variables: vars, NodeID: node,
			ACME: &ACMEConfig{DirectoryURL: "https://127.0.0.1:1/dir", Domains: []string{"*"}}})
		if err != nil {
			t.Fatal(err)
		}
		return g.acme
	}
	a, b := mk("a"), mk("b")
	ctx := context.Background()
	lease, ok := a.takeLease(ctx, "x.example")
	if !ok {
		t.Fatal("the first client cannot take a free lease")
	}
	if _, ok := b.takeLease(ctx, "x.example"); ok {
		t.Fatal("the second client took a held lease")
	}
	if _, ok := b.takeLease(ctx, "y.example"); !ok {
		t.Fatal("a lease of another name is refused")
	}
	if err := vars.Delete(ctx, lease); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.takeLease(ctx, "x.example"); !ok {
		t.Fatal("a released lease is refused")
	}
	// An expired lease is taken over.
	v, _ := vars.Get(ctx, lease)
	v.Items["until"] = time.Now().Add(-time.Second).Format(time.RFC3339Nano)
	vars.set(t, lease, v.Items)
	if _, ok := a.takeLease(ctx, "x.example"); !ok {
		t.Fatal("an expired lease is refused")
	}
}

// countingVars is memVars counting the variables read one by one.
type countingVars struct {
	*memVars
	gets atomic.Int64
}

func (c *countingVars) Get(ctx context.Context, path string) (*structs.VariableDecrypted, error) {
	c.gets.Add(1)
	return c.memVars.Get(ctx, path)
}

// TestACMEChallengeHandler: the HTTP listener answers HTTP-01 requests
// from this client's orders and, for another client's, from the watch of
// its variable; tokens that are no base64url (a path into other
// variables) are refused; other paths are routed as usual.
func TestACMEChallengeHandler(t *testing.T) {
	vars := newMemVars()
	const prefix = structs.IngressVariablePrefix + "/certs"
	g := start(t, Config{HTTPSPort: freeport.TCP(t), CertVariablesPrefix: prefix, Variables: vars, NodeID: "a",
		ACME: &ACMEConfig{DirectoryURL: "https://127.0.0.1:1/dir", Domains: []string{"*"}}})
	ctx := context.Background()
	if err := g.acme.Present(ctx, "x.example", "tok-1", "answer-1"); err != nil {
		t.Fatal(err)
	}
	if g.acme.watched["tok-1"] != (acmeAnswer{host: "x.example", keyAuth: "answer-1"}) {
		t.Fatal("Present returned before the watch brought the answer back (the other clients may not have it)")
	}
	vars.set(t, prefix+"/_acme/http01/tok-2", map[string]string{"key_auth": "answer-2", "host": "x.example"})
	vars.set(t, prefix+"/secret", map[string]string{"key_auth": "not for the CA"})
	waitUntil(t, "another client's answer from the watch", func() (bool, string) {
		code, body := getHost(t, g, "x.example", "/.well-known/acme-challenge/tok-2")
		return code == 200 && body == "answer-2", fmt.Sprintf("%d %s", code, body)
	})
	for path, want := range map[string]string{
		"/.well-known/acme-challenge/tok-1":            "200 answer-1",
		"/.well-known/acme-challenge/tok-2":            "200 answer-2",
		"/.well-known/acme-challenge/tok-3":            "404",
		"/.well-known/acme-challenge/..%2F..%2Fsecret": "404",
		"/.well-known/acme-challenge/a/b":              "404",
		"/elsewhere":                                   "404 nomadlike ingress: no route",
	} {
		code, body := getHost(t, g, "x.example", path)
		if got := strconv.Itoa(code) + " " + body; !strings.HasPrefix(got, want) {
			t.Errorf("%s: got %q, want %q...", path, got, want)
		}
	}
	if err := g.acme.CleanUp(ctx, "x.example", "tok-1", "answer-1"); err != nil {
		t.Fatal(err)
	}
	if code, _ := getHost(t, g, "x.example", "/.well-known/acme-challenge/tok-1"); code != 404 {
		t.Fatalf("a cleaned-up challenge still answered: %d", code)
	}
	if err := vars.Delete(ctx, prefix+"/_acme/http01/tok-2"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "a deleted answer forgotten", func() (bool, string) {
		code, _ := getHost(t, g, "x.example", "/.well-known/acme-challenge/tok-2")
		return code == 404, strconv.Itoa(code)
	})
}

// TestACMEChallengeMakesNoServerCall (attack): any internet client can
// GET /.well-known/acme-challenge/<token> on the ingress's HTTP listener.
// Unknown tokens get 404 without reading a variable, so requests cannot
// make every ingress client query the servers; a pending challenge is
// answered from the watch, without a read per request either.
func TestACMEChallengeMakesNoServerCall(t *testing.T) {
	vars := &countingVars{memVars: newMemVars()}
	const prefix = structs.IngressVariablePrefix + "/certs"
	g := start(t, Config{HTTPSPort: freeport.TCP(t), CertVariablesPrefix: prefix, Variables: vars, NodeID: "a",
		ACME: &ACMEConfig{DirectoryURL: "https://127.0.0.1:1/dir", Domains: []string{"*"}}})
	vars.set(t, prefix+"/_acme/http01/pending", map[string]string{"key_auth": "pending.answer", "host": "x.example"})
	waitUntil(t, "the pending challenge answered", func() (bool, string) {
		code, body := getHost(t, g, "x.example", "/.well-known/acme-challenge/pending")
		return code == 200 && body == "pending.answer", fmt.Sprintf("%d %s", code, body)
	})
	before := vars.gets.Load()
	for i := range 50 {
		if code, _ := getHost(t, g, "x.example", fmt.Sprintf("/.well-known/acme-challenge/attacker-%d", i)); code != 404 {
			t.Fatalf("unknown token: %d, want 404", code)
		}
		if code, _ := getHost(t, g, "x.example", "/.well-known/acme-challenge/pending"); code != 200 {
			t.Fatalf("pending token: %d, want 200", code)
		}
	}
	if n := vars.gets.Load() - before; n != 0 {
		t.Fatalf("100 challenge requests read %d variables from the servers, want 0", n)
	}
}

// TestACMEDomainsAllowList: only the routes' hosts within domains are
// ordered; the others are logged once naming the host and the setting,
// counted in a gauge and marked on their route.
func TestACMEDomainsAllowList(t *testing.T) {
	c := &ACMEConfig{Domains: []string{"example.com", "*.apps.example.com"}}
	for h, want := range map[string]bool{
		"example.com": true, "EXAMPLE.com": true, "shop.apps.example.com": true, "a.b.apps.example.com": true,
		"apps.example.com": false, "www.example.com": false, "example.com.evil.test": false,
		"evilapps.example.com": false, "other.test": false,
	} {
		if got := c.allowed(h); got != want {
			t.Errorf("domains %v: allowed(%q) = %v, want %v", c.Domains, h, got, want)
		}
	}
	if !(&ACMEConfig{Domains: []string{"*"}}).allowed("any.test") {
		t.Error(`domains ["*"] refuses a name`)
	}

	var logs syncBuffer
	registry := prometheus.NewRegistry()
	g, err := New(Config{HTTPSPort: 1, CertVariablesPrefix: structs.IngressVariablePrefix + "/certs", Variables: newMemVars(), NodeID: "a",
		ACME: &ACMEConfig{DirectoryURL: "https://127.0.0.1:1/dir", Domains: c.Domains}, Metrics: registry,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	regs := []*structs.ServiceRegistration{
		reg(t, "127.0.0.1:1", "urlprefix-shop.apps.example.com/"),
		reg(t, "127.0.0.1:2", "urlprefix-bank.example.net/"),
	}
	g.Set(regs)
	g.Set(regs) // the same table again: no second log line
	if !slices.Equal(g.acme.hosts, []string{"shop.apps.example.com"}) {
		t.Fatalf("hosts to order: %v", g.acme.hosts)
	}
	if n := strings.Count(logs.String(), "outside client.ingress.acme.domains"); n != 1 || !strings.Contains(logs.String(), "host=bank.example.net") {
		t.Fatalf("want one log line naming the host and the setting:\n%s", logs.String())
	}
	if v := testutil.ToFloat64(g.tlsm.refused); v != 1 {
		t.Fatalf("nomadlike_ingress_acme_hosts_not_allowed = %v, want 1", v)
	}
	for _, r := range g.Routes().Routes {
		want := ""
		if r.Host == "bank.example.net" {
			want = structs.IngressACMENotAllowed
		}
		if r.ACME != want {
			t.Errorf("route %s: ACME %q, want %q", r.Route, r.ACME, want)
		}
	}
}

// TestStartCertLoopsAfterShutdown: the certificate loops started by a
// Start racing a Shutdown never start once the ingress is shut down
// (they would watch the variables for ever, unseen by Shutdown).
func TestStartCertLoopsAfterShutdown(t *testing.T) {
	g, err := New(Config{HTTPSPort: freeport.TCP(t), CertVariablesPrefix: structs.IngressVariablePrefix + "/certs", Variables: newMemVars(), NodeID: "a",
		ACME: &ACMEConfig{DirectoryURL: "https://127.0.0.1:1/dir", Domains: []string{"*"}}})
	if err != nil {
		t.Fatal(err)
	}
	g.Shutdown(t.Context())
	g.startCertLoops()
	done := make(chan struct{})
	go func() { g.loops.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("certificate loops run after Shutdown")
	}
	if err := g.Start(); err == nil {
		t.Fatal("Start after Shutdown listens again")
	}
}

func TestACMEConfigErrors(t *testing.T) {
	prefix := structs.IngressVariablePrefix + "/certs"
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{HTTPSPort: 1, CertVariablesPrefix: prefix, ACME: &ACMEConfig{DirectoryURL: "http://ca/dir", Domains: []string{"*"}}}, "https:// directory URL"},
		{Config{HTTPSPort: 1, CertVariablesPrefix: prefix, ACME: &ACMEConfig{DirectoryURL: "https://ca/dir", RenewBefore: -1, Domains: []string{"*"}}}, "renew_before"},
		{Config{HTTPSPort: 1, CertVariablesPrefix: prefix, ACME: &ACMEConfig{DirectoryURL: "https://ca/dir", CAFile: "/nonexistent", Domains: []string{"*"}}}, "acme.ca_file"},
		{Config{HTTPSPort: 1, CertVariablesPrefix: prefix, ACME: &ACMEConfig{DirectoryURL: "https://ca/dir"}}, "acme.domains is required"},
		{Config{HTTPSPort: 1, CertVariablesPrefix: prefix, ACME: &ACMEConfig{DirectoryURL: "https://ca/dir", Domains: []string{"*.*.example"}}}, `"*.*.example" is not a DNS name`},
		{Config{HTTPSPort: 1, CertVariablesPrefix: prefix, ACME: &ACMEConfig{DirectoryURL: "https://ca/dir", Domains: []string{"example.com:443"}}}, "acme.domains"},
		{Config{HTTPSPort: 1, CertVariablesPrefix: "secret/certs"}, "must be \"nomadlike/ingress\" or below"},
		{Config{HTTPSPort: 1, CertVariablesPrefix: "nomadlike/ingress/a.b"}, "variables_prefix"},
		{Config{CertVariablesPrefix: prefix}, "need https_port"},
	} {
		if _, err := New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

func TestACMEHost(t *testing.T) {
	for h, want := range map[string]bool{
		"app.example.com": true, "a-b.example": true, "X1.example": true,
		"": false, "*.example.com": false, "localhost": false, "app.example.com:8443": false,
		"a_b.example": false, "a..example": false, "-a.example": false, "a-.example": false,
		strings.Repeat("a", 64) + ".example": false,
	} {
		if got := acmeHost(h); got != want {
			t.Errorf("acmeHost(%q) = %v, want %v", h, got, want)
		}
	}
}

// TestAttackACMEChallengeOutsideDomains (attack): whoever may write the
// variables below the ingress prefix (any job or token with write access
// to nomadlike/ingress) writes HTTP-01 answers for a host outside this
// client's client.ingress.acme.domains, hoping a CA validating that host
// reaches this client. It is answered only at a host the client's own
// allow-list admits and the answer names; the client neither presents
// nor orders for a host outside it.
func TestAttackACMEChallengeOutsideDomains(t *testing.T) {
	vars := newMemVars()
	const prefix = structs.IngressVariablePrefix + "/certs"
	g := start(t, Config{HTTPSPort: freeport.TCP(t), CertVariablesPrefix: prefix, Variables: vars, NodeID: "a",
		ACME: &ACMEConfig{DirectoryURL: "https://127.0.0.1:1/dir", Domains: []string{"*.apps.example.com"}}})
	vars.set(t, prefix+"/_acme/http01/evil", map[string]string{"key_auth": "evil.answer", "host": "bank.example.net"})
	vars.set(t, prefix+"/_acme/http01/nohost", map[string]string{"key_auth": "nohost.answer"})
	vars.set(t, prefix+"/_acme/http01/shop", map[string]string{"key_auth": "shop.answer", "host": "shop.apps.example.com"})
	waitUntil(t, "the allowed host's answer from the watch", func() (bool, string) {
		code, body := getHost(t, g, "shop.apps.example.com", "/.well-known/acme-challenge/shop")
		return code == 200 && body == "shop.answer", fmt.Sprintf("%d %s", code, body)
	})
	for _, c := range []struct{ host, token string }{
		{"bank.example.net", "evil"},
		{"bank.example.net:80", "evil"},
		{"BANK.example.net", "evil"},
		{"bank.example.net", "nohost"},
		{"bank.example.net", "shop"},
		{"other.apps.example.com", "shop"}, // allowed, but not the answer's host
		{"other.apps.example.com", "nohost"},
		{g.HTTPAddr(), "evil"},
	} {
		if code, body := getHost(t, g, c.host, "/.well-known/acme-challenge/"+c.token); code != 404 {
			t.Errorf("Host %s, token %s: %d %q, want 404", c.host, c.token, code, body)
		}
	}
	if code, _ := getHost(t, g, "SHOP.apps.example.com:80", "/.well-known/acme-challenge/shop"); code != 200 {
		t.Errorf("the allowed host in capitals with a port: %d, want 200", code)
	}
	ctx := context.Background()
	if err := g.acme.Present(ctx, "bank.example.net", "tok", "answer"); err == nil {
		t.Error("Present for a host outside the domains succeeded")
	}
	if v, _ := vars.Get(ctx, prefix+"/_acme/http01/tok"); v != nil {
		t.Errorf("Present for a host outside the domains wrote its answer: %+v", v.Items)
	}
	if _, err := g.acme.order(ctx, "bank.example.net", g.acme.certVariable("bank.example.net")); err == nil || !strings.Contains(err.Error(), "outside client.ingress.acme.domains") {
		t.Errorf("order for a host outside the domains: %v, want it refused", err)
	}
}
