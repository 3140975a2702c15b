package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// tlsLab is a directory of certificates made by `nomadlike tls`, as a user
// would make them.
type tlsLab struct {
	t   *testing.T
	dir string
}

func newTLSLab(t *testing.T) *tlsLab {
	t.Helper()
	l := &tlsLab{t: t, dir: t.TempDir()}
	for _, args := range [][]string{
		{"tls", "ca", "create"},
		{"tls", "cert", "create", "-server"},
		{"tls", "cert", "create", "-client"},
		{"tls", "cert", "create", "-cli"},
	} {
		if out, code := runIn(t, l.dir, nil, args...); code != 0 {
			t.Fatalf("nomadlike %s: exit %d: %s", strings.Join(args, " "), code, out)
		}
	}
	return l
}

func (l *tlsLab) path(name string) string { return filepath.Join(l.dir, name) }

// block is the tls block of an agent of role (server or client), as the
// README's "Running securely" section writes it.
func (l *tlsLab) block(role string) string {
	return fmt.Sprintf(`
tls {
  http = true
  rpc  = true

  ca_file   = %q
  cert_file = %q
  key_file  = %q

  verify_server_hostname = true
  verify_https_client    = true
}
`, l.path("nomad-agent-ca.pem"), l.path("global-"+role+"-nomad.pem"), l.path("global-"+role+"-nomad-key.pem"))
}

// cli is the CLI's TLS configuration (its certificate, the CA).
func (l *tlsLab) cli() *api.TLSConfig {
	return &api.TLSConfig{CACert: l.path("nomad-agent-ca.pem"),
		ClientCert: l.path("global-cli-nomad.pem"), ClientKey: l.path("global-cli-nomad-key.pem")}
}

// secureCluster is three servers and two clients on loopback with mutual
// TLS and gossip encryption (and whatever extra HCL the test adds).
type secureCluster struct {
	t                *testing.T
	lab              *tlsLab
	servers, clients []*agent
	serverHTTP       []string // host:port
	serverRPC        []string // host:port, as Raft names the leader
}

// newSecureAgent picks free ports and returns the agent (not started), its
// ports and its ports block.
func newSecureAgent(t *testing.T, lab *tlsLab) (a *agent, http, rpc, serf int, ports string) {
	dir := t.TempDir()
	http, rpc, serf = freePort(t), freePort(t), freePort(t)
	a = &agent{t: t, addr: fmt.Sprintf("https://127.0.0.1:%d", http), dataDir: filepath.Join(dir, "data"),
		cfgPath: filepath.Join(dir, "agent.hcl"), logPath: filepath.Join(dir, "agent.log"), tls: lab.cli(), noWait: true}
	ports = fmt.Sprintf("ports {\n  http = %d\n  rpc  = %d\n  serf = %d\n}\n", http, rpc, serf)
	return a, http, rpc, serf, ports
}

func startSecureCluster(t *testing.T, lab *tlsLab, extra string) *secureCluster {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	c := &secureCluster{t: t, lab: lab}
	type pending struct {
		a   *agent
		cfg string
	}
	var servers []pending
	var joins []string
	for i := 1; i <= 3; i++ {
		a, http, rpc, serf, ports := newSecureAgent(t, lab)
		c.serverRPC = append(c.serverRPC, fmt.Sprintf("127.0.0.1:%d", rpc))
		joins = append(joins, fmt.Sprintf("%q", fmt.Sprintf("127.0.0.1:%d", serf)))
		c.serverHTTP = append(c.serverHTTP, fmt.Sprintf("127.0.0.1:%d", http))
		servers = append(servers, pending{a, fmt.Sprintf("name = \"s%d\"\ndata_dir = %q\nbind_addr = \"127.0.0.1\"\nlog_level = \"DEBUG\"\n%s", i, a.dataDir, ports)})
	}
	for _, p := range servers {
		cfg := p.cfg + fmt.Sprintf(`
server {
  enabled          = true
  bootstrap_expect = 3
  encrypt          = %q
  server_join {
    retry_join     = [%s]
    retry_interval = "1s"
  }
}
`, base64.StdEncoding.EncodeToString(key), strings.Join(joins, ", ")) + lab.block("server") + extra
		p.a.launch(cfg, "agent", "-config", p.a.cfgPath)
		c.servers = append(c.servers, p.a)
	}
	for i := 1; i <= 2; i++ {
		c.clients = append(c.clients, c.startClient(fmt.Sprintf("c%d", i), lab, extra))
	}
	return c
}

// startClient starts a client agent of the cluster whose certificates come
// from lab (another lab's are the wrong ones).
func (c *secureCluster) startClient(name string, lab *tlsLab, extra string) *agent {
	a, _, _, _, ports := newSecureAgent(c.t, lab)
	var servers []string
	for _, s := range c.serverHTTP {
		servers = append(servers, fmt.Sprintf("%q", s))
	}
	cfg := fmt.Sprintf(`name = %q
data_dir = %q
bind_addr = "127.0.0.1"
log_level = "DEBUG"
%s
client {
  enabled = true
  servers = [%s]
}
plugin "raw_exec" {
  config {
    enabled = true
  }
}
`, name, a.dataDir, ports, strings.Join(servers, ", ")) + lab.block("client") + extra
	a.launch(cfg, "agent", "-config", a.cfgPath)
	return a
}

// waitReady waits for a leader, three Raft voters and the clients' nodes.
func (c *secureCluster) waitReady(api func(*agent) *api.Client) {
	c.t.Helper()
	waitFor(c.t, 60*time.Second, "a leader, 3 Raft voters and 2 ready nodes over mutual TLS", func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		cl := api(c.servers[0])
		rc, err := cl.RaftConfiguration(ctx, nil)
		if err != nil {
			return false, err.Error()
		}
		if len(rc.Servers) != 3 {
			return false, fmt.Sprintf("%d Raft servers", len(rc.Servers))
		}
		return nodesReady(cl, 2)
	})
}

// follower returns a server that does not lead.
func (c *secureCluster) follower(cl func(*agent) *api.Client) *agent {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	leader, err := cl(c.servers[0]).Leader(ctx)
	if err != nil {
		c.t.Fatal(err)
	}
	for i, s := range c.servers {
		if c.serverRPC[i] != leader {
			return s
		}
	}
	c.t.Fatalf("no follower among the servers (leader %s)", leader)
	return nil
}

// logHas waits for a line containing one of subs in a's log.
func logHas(t *testing.T, a *agent, what string, subs ...string) {
	t.Helper()
	waitFor(t, 30*time.Second, what, func() (bool, string) {
		b, _ := os.ReadFile(a.logPath)
		for _, s := range subs {
			if bytes.Contains(b, []byte(s)) {
				return true, ""
			}
		}
		return false, fmt.Sprintf("no %q in %s", subs, a.logPath)
	})
}

// peerCert dials addr (host:port) with the lab's CLI certificate and
// returns the certificate the agent presents.
func peerCert(t *testing.T, lab *tlsLab, addr string) (serial string, dnsNames []string) {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(lab.cli().ClientCert, lab.cli().ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer conn.Close()
	leaf := conn.ConnectionState().PeerCertificates[0]
	return leaf.SerialNumber.String(), leaf.DNSNames
}

// TestTLSCluster: three servers and two clients with mutual TLS on the
// HTTP API, Raft and the client-to-server calls, certificates made by
// `nomadlike tls`. The cluster forms; a job submitted to a follower is
// forwarded over TLS and runs; the CLI works with its certificate and is
// refused without; a client whose certificate comes from another CA cannot
// register; SIGHUP makes a server present its new certificate.
func TestTLSCluster(t *testing.T) {
	lab := newTLSLab(t)
	c := startSecureCluster(t, lab, "")
	viaTLS := func(a *agent) *api.Client { return a.api() }
	c.waitReady(viaTLS)

	// A job through a follower: forwarded to the leader over HTTPS.
	f := c.follower(viaTLS)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := f.api().RegisterJob(ctx, &structs.JobRegisterRequest{Job: sleepJob("tls-sleep", 2)}); err != nil {
		t.Fatalf("register through a follower: %v", err)
	}
	waitFor(t, 60*time.Second, "2 running allocations of tls-sleep", func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		allocs, _, err := c.servers[0].api().JobAllocations(ctx, "tls-sleep", nil)
		if err != nil {
			return false, err.Error()
		}
		running := 0
		for _, a := range allocs {
			if a.ClientStatus == structs.AllocClientStatusRunning {
				running++
			}
		}
		return running == 2, fmt.Sprintf("%d running of %d", running, len(allocs))
	})

	// The CLI: with its certificate (NOMAD_CACERT, NOMAD_CLIENT_CERT,
	// NOMAD_CLIENT_KEY), and with only the CA.
	out, code := c.servers[0].cli(lab.dir, "node", "status")
	if code != 0 || !strings.Contains(out, "c1") || !strings.Contains(out, "c2") {
		t.Errorf("node status with the CLI certificate: exit %d", code)
	}
	out, code = runIn(t, lab.dir, []string{"NOMAD_ADDR=" + c.servers[1].addr, "NOMAD_CACERT=" + lab.path("nomad-agent-ca.pem")}, "node", "status")
	if code == 0 || !strings.Contains(out, "certificate required") {
		t.Errorf("node status without a client certificate: exit %d, want the handshake refused", code)
	}
	out, code = runIn(t, lab.dir, nil, "-address", c.servers[2].addr, "-ca-cert", lab.path("nomad-agent-ca.pem"),
		"-client-cert", lab.path("global-cli-nomad.pem"), "-client-key", lab.path("global-cli-nomad-key.pem"), "server", "members")
	if code != 0 || strings.Count(out, "alive") != 3 {
		t.Errorf("server members with -ca-cert/-client-cert/-client-key: exit %d", code)
	}

	// The official Go client with its TLSConfig.
	off := officialClient(t, c.servers[1].addr, lab, "")
	offNodes, _, err := off.Nodes().List(nil)
	if err != nil || len(offNodes) != 2 {
		t.Errorf("official client Nodes().List over mutual TLS: %d nodes, %v", len(offNodes), err)
	}
	for _, n := range offNodes {
		if node, _, err := off.Nodes().Info(n.ID, nil); err != nil || !node.TLSEnabled {
			t.Errorf("node %s: TLSEnabled false or %v: tools reaching the node would not use https", n.Name, err)
		}
	}

	// A client with another CA's certificate cannot join.
	rogueLab := newTLSLab(t)
	rogue := c.startClient("rogue", rogueLab, "")
	logHas(t, rogue, "the rogue client's refused handshake", "certificate signed by unknown authority", "bad certificate", "not signed by this agent's CA")
	nodes, _, err := c.servers[0].api().ListNodes(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if n.Name == "rogue" {
			t.Errorf("the rogue client registered: %+v", n)
		}
	}
	// Raft's port speaks mutual TLS: the rogue certificate is refused there
	// too, the cluster's is accepted.
	for _, l := range []*tlsLab{lab, rogueLab} {
		cert, err := tls.LoadX509KeyPair(l.path("global-server-nomad.pem"), l.path("global-server-nomad-key.pem"))
		if err != nil {
			t.Fatal(err)
		}
		conn, err := tls.Dial("tcp", c.serverRPC[0], &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{cert}})
		if err == nil {
			// TLS 1.3: the server's verdict on our certificate arrives with the first read.
			_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			_, err = conn.Read(make([]byte, 1))
			conn.Close()
		}
		refused := err != nil && !errors.Is(err, os.ErrDeadlineExceeded)
		if refused != (l == rogueLab) {
			t.Errorf("Raft port with the %s certificate: %v", map[bool]string{true: "rogue", false: "cluster's"}[l == rogueLab], err)
		}
	}
	rogueCLI := &agent{t: t, addr: c.servers[0].addr, tls: rogueLab.cli()}
	if _, err := rogueCLI.api().Leader(ctx); err == nil {
		t.Error("the API answered a CLI certificate of another CA")
	}

	// SIGHUP: s1 presents a new certificate (same CA) to new connections;
	// s2, not signalled, still presents the old one.
	newDir := t.TempDir()
	if out, code := runIn(t, newDir, nil, "tls", "cert", "create", "-server", "-additional-dnsname", "reloaded.example",
		"-ca", lab.path("nomad-agent-ca.pem"), "-key", lab.path("nomad-agent-ca-key.pem")); code != 0 {
		t.Fatalf("tls cert create: %s", out)
	}
	oldSerial, _ := peerCert(t, lab, strings.TrimPrefix(c.servers[0].addr, "https://"))
	for _, n := range []string{"global-server-nomad.pem", "global-server-nomad-key.pem"} {
		b, err := os.ReadFile(filepath.Join(newDir, n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(lab.path(n), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.servers[0].cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "s1 to present the reloaded certificate", func() (bool, string) {
		serial, names := peerCert(t, lab, strings.TrimPrefix(c.servers[0].addr, "https://"))
		return slices.Contains(names, "reloaded.example") && serial != oldSerial, fmt.Sprintf("serial %s, names %v", serial, names)
	})
	if serial, _ := peerCert(t, lab, strings.TrimPrefix(c.servers[1].addr, "https://")); serial != oldSerial {
		t.Errorf("s2 was not signalled but presents serial %s, not %s", serial, oldSerial)
	}
	// The cluster still takes writes through the reloaded server.
	if _, err := c.servers[0].api().RegisterJob(ctx, &structs.JobRegisterRequest{Job: sleepJob("tls-after-reload", 1)}); err != nil {
		t.Errorf("register after the reload: %v", err)
	}
}

// officialClient is HashiCorp's Go client for the agent at addr with the
// lab's CLI certificate (as NOMAD_CACERT, NOMAD_CLIENT_CERT and
// NOMAD_CLIENT_KEY would set it) and token.
func officialClient(t *testing.T, addr string, lab *tlsLab, token string) *nomad.Client {
	t.Helper()
	cli := lab.cli()
	c, err := nomad.NewClient(&nomad.Config{Address: addr, SecretID: token, TLSConfig: &nomad.TLSConfig{
		CACert: cli.CACert, ClientCert: cli.ClientCert, ClientKey: cli.ClientKey}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
