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

	"github.com/nomadlike/nomadlike/internal/freeport"
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

// secureCluster is three servers and clients on loopback with mutual TLS,
// gossip encryption and whatever extra HCL (an acl block) the test adds.
type secureCluster struct {
	t                *testing.T
	lab              *tlsLab
	extra            string
	servers, clients []*agent
	serverHTTP       []string // host:port
	serverRPC        []string // host:port, as Raft names the leader
}

// newSecureAgent picks free ports and returns the agent (not started), its
// ports and its ports block.
func newSecureAgent(t *testing.T, lab *tlsLab) (a *agent, http, rpc, serf int, ports string) {
	dir := t.TempDir()
	http, rpc, serf = freeport.TCP(t), freeport.TCP(t), freeport.TCP(t)
	a = &agent{t: t, addr: fmt.Sprintf("https://127.0.0.1:%d", http), dataDir: filepath.Join(dir, "data"),
		cfgPath: filepath.Join(dir, "agent.hcl"), logPath: filepath.Join(dir, "agent.log"), tls: lab.cli(), noWait: true}
	ports = fmt.Sprintf("ports {\n  http = %d\n  rpc  = %d\n  serf = %d\n}\n", http, rpc, serf)
	return a, http, rpc, serf, ports
}

// startSecureServers starts the three servers (bootstrap_expect = 3).
func startSecureServers(t *testing.T, lab *tlsLab, extra string) *secureCluster {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	c := &secureCluster{t: t, lab: lab, extra: extra}
	type pending struct {
		a   *agent
		cfg string
	}
	var servers []pending
	var joins []string
	for i := 1; i <= 3; i++ {
		a, http, rpc, serf, ports := newSecureAgent(t, lab)
		joins = append(joins, fmt.Sprintf("%q", fmt.Sprintf("127.0.0.1:%d", serf)))
		c.serverHTTP = append(c.serverHTTP, fmt.Sprintf("127.0.0.1:%d", http))
		c.serverRPC = append(c.serverRPC, fmt.Sprintf("127.0.0.1:%d", rpc))
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
	return c
}

// startClient starts a client agent of the cluster whose certificates come
// from lab (another lab's are the wrong ones); clientExtra goes into the
// client block.
func (c *secureCluster) startClient(name string, lab *tlsLab, clientExtra string) *agent {
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
%s
}
plugin "raw_exec" {
  config {
    enabled = true
  }
}
`, name, a.dataDir, ports, strings.Join(servers, ", "), clientExtra) + lab.block("client") + c.extra
	a.launch(cfg, "agent", "-config", a.cfgPath)
	c.clients = append(c.clients, a)
	return a
}

// api is our client for a, with the lab's CLI certificate and token.
func (c *secureCluster) api(a *agent, token string) *api.Client {
	cl, err := api.NewClient(api.Config{Address: a.addr, Token: token, TLS: c.lab.cli()})
	if err != nil {
		c.t.Fatal(err)
	}
	return cl
}

// waitVoters waits for a leader and three Raft voters (read with token).
func (c *secureCluster) waitVoters(token string) {
	c.t.Helper()
	waitFor(c.t, 60*time.Second, "a leader and 3 Raft voters over mutual TLS", func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		rc, err := c.api(c.servers[0], token).RaftConfiguration(ctx, nil)
		if err != nil {
			return false, err.Error()
		}
		return len(rc.Servers) == 3, fmt.Sprintf("%d Raft servers", len(rc.Servers))
	})
}

// waitLeader waits until every server knows a leader (a public endpoint).
func (c *secureCluster) waitLeader() {
	c.t.Helper()
	waitFor(c.t, 60*time.Second, "every server to know the leader", func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		for _, s := range c.servers {
			if l, err := c.api(s, "").Leader(ctx); err != nil || l == "" {
				return false, fmt.Sprintf("%s: leader %q, %v", s.addr, l, err)
			}
		}
		return true, ""
	})
}

// follower returns a server that does not lead.
func (c *secureCluster) follower() *agent {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	leader, err := c.api(c.servers[0], "").Leader(ctx)
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

// TestSecureCluster is issue 12's acceptance test, on the README's "Running
// securely" configuration: three servers and two clients with mutual TLS
// (certificates made by `nomadlike tls`), gossip encryption and ACLs. The
// ACL flow goes through HashiCorp's official Go client with its TLSConfig
// (bootstrap, policy apply, token create, namespace, job register with the
// token), the anonymous policy through our CLI (nomadlike acl policy apply). A token limited to one namespace submits and reads there and
// nowhere else; anonymous requests get 403 everywhere but what the
// anonymous policy allows; a client with another CA's certificate cannot
// join even with a valid token; the CLI needs its certificate; a job
// submitted to a follower is forwarded over TLS and runs; Raft's port
// refuses another CA; SIGHUP makes a server present its new certificate.
func TestSecureCluster(t *testing.T) {
	lab := newTLSLab(t)
	c := startSecureServers(t, lab, "\nacl {\n  enabled = true\n}\n")
	c.waitLeader()

	// ACL bootstrap, a node-write policy and the clients' token, through
	// the official client over mutual TLS (nomad acl bootstrap, nomad acl
	// policy apply, nomad acl token create).
	anon := officialClient(t, c.servers[1].addr, lab, "")
	boot, _, err := anon.ACLTokens().Bootstrap(nil)
	if err != nil {
		t.Fatalf("ACL bootstrap: %v", err)
	}
	mgmt := officialClient(t, c.servers[0].addr, lab, boot.SecretID)
	c.waitVoters(boot.SecretID)
	apply := func(name, rules string) {
		t.Helper()
		if _, err := mgmt.ACLPolicies().Upsert(&nomad.ACLPolicy{Name: name, Rules: rules}, nil); err != nil {
			t.Fatalf("policy apply %s: %v", name, err)
		}
	}
	token := func(name string, policies ...string) string {
		t.Helper()
		tok, _, err := mgmt.ACLTokens().Create(&nomad.ACLToken{Name: name, Type: "client", Policies: policies}, nil)
		if err != nil {
			t.Fatalf("token create %s: %v", name, err)
		}
		return tok.SecretID
	}
	apply("node-write", "node {\n  policy = \"write\"\n}\n")
	intro := token("clients", "node-write")
	for _, name := range []string{"c1", "c2"} {
		c.startClient(name, lab, fmt.Sprintf("  intro_token = %q", intro))
	}
	waitFor(t, 60*time.Second, "2 ready nodes", func() (bool, string) { return nodesReady(c.api(c.servers[0], boot.SecretID), 2) })

	// A namespace, a token limited to it, and the anonymous policy.
	if _, err := mgmt.Namespaces().Register(&nomad.Namespace{Name: "team-a"}, nil); err != nil {
		t.Fatalf("namespace team-a: %v", err)
	}
	// write, plus alloc-node-exec: the team's job is raw_exec, whose exec
	// runs on the node itself (Nomad's write does not include it).
	apply("team-a", "namespace \"team-a\" {\n  policy = \"write\"\n  capabilities = [\"alloc-node-exec\"]\n}\n")
	// The anonymous policy through our CLI, over mutual TLS.
	anonPolicy := filepath.Join(lab.dir, "anonymous.hcl")
	if err := os.WriteFile(anonPolicy, []byte("namespace \"default\" {\n  capabilities = [\"list-jobs\"]\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// env is the CLI's environment: the address, the CA, its certificate.
	env := []string{"NOMAD_ADDR=" + c.servers[2].addr, "NOMAD_CACERT=" + lab.path("nomad-agent-ca.pem"),
		"NOMAD_CLIENT_CERT=" + lab.path("global-cli-nomad.pem"), "NOMAD_CLIENT_KEY=" + lab.path("global-cli-nomad-key.pem")}
	if out, code := runIn(t, lab.dir, append(env, "NOMAD_TOKEN="+boot.SecretID), "acl", "policy", "apply", "anonymous", anonPolicy); code != 0 {
		t.Fatalf("nomadlike acl policy apply anonymous: exit %d: %s", code, out)
	}
	teamToken := token("team-a", "team-a")

	// The team's token submits through a follower (forwarded to the leader
	// over TLS), and the job runs on a client.
	team := officialClient(t, c.follower().addr, lab, teamToken)
	if _, _, err := team.Jobs().Register(officialSleepJob("team-web", "team-a"), nil); err != nil {
		t.Fatalf("register in team-a with the team's token: %v", err)
	}
	waitFor(t, 60*time.Second, "team-web's allocation to run", func() (bool, string) {
		allocs, _, err := team.Jobs().Allocations("team-web", false, &nomad.QueryOptions{Namespace: "team-a"})
		if err != nil {
			return false, err.Error()
		}
		return len(allocs) == 1 && allocs[0].ClientStatus == "running", fmt.Sprintf("%d allocations", len(allocs))
	})
	if _, _, err := mgmt.Jobs().Register(officialSleepJob("ops-web", "default"), nil); err != nil {
		t.Fatalf("register in default with the management token: %v", err)
	}
	inTeam := &nomad.QueryOptions{Namespace: "team-a"}
	inDefault := &nomad.QueryOptions{Namespace: "default"}
	if _, _, err := team.Jobs().Info("team-web", inTeam); err != nil {
		t.Errorf("the team reads its job: %v", err)
	}
	if jobs, _, err := team.Jobs().List(inTeam); err != nil || len(jobs) != 1 {
		t.Errorf("the team lists team-a: %d jobs, %v", len(jobs), err)
	}
	forbidden := func(who, what string, err error) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), "403") {
			t.Errorf("%s %s: %v, want 403", who, what, err)
		}
	}
	_, _, err = team.Jobs().Register(officialSleepJob("team-intruder", "default"), nil)
	forbidden("the team's token", "registering in default", err)
	_, _, err = team.Jobs().Info("ops-web", inDefault)
	forbidden("the team's token", "reading default's job", err)
	_, _, err = team.Jobs().List(inDefault)
	forbidden("the team's token", "listing default", err)
	_, _, err = team.Nodes().List(nil)
	forbidden("the team's token", "listing nodes", err)

	// Anonymous: only what the anonymous policy allows (list-jobs in default).
	if jobs, _, err := anon.Jobs().List(inDefault); err != nil || len(jobs) != 1 {
		t.Errorf("anonymous lists default (allowed by the anonymous policy): %d jobs, %v", len(jobs), err)
	}
	_, _, err = anon.Jobs().Info("ops-web", inDefault)
	forbidden("anonymous", "reading a job", err)
	_, _, err = anon.Jobs().List(inTeam)
	forbidden("anonymous", "listing team-a", err)
	_, _, err = anon.Jobs().Register(officialSleepJob("anon-web", "default"), nil)
	forbidden("anonymous", "registering a job", err)
	_, _, err = anon.Nodes().List(nil)
	forbidden("anonymous", "listing nodes", err)
	_, err = anon.Agent().Members()
	forbidden("anonymous", "listing members", err)
	_, err = anon.Operator().RaftGetConfiguration(nil)
	forbidden("anonymous", "reading the Raft configuration", err)
	_, _, err = anon.ACLPolicies().Info("team-a", nil)
	forbidden("anonymous", "reading a policy", err)
	_, _, err = anon.ACLTokens().Bootstrap(nil)
	if err == nil {
		t.Error("a second ACL bootstrap succeeded")
	}

	// Our CLI: the token and the certificate are both needed.
	if out, code := runIn(t, lab.dir, append(env, "NOMAD_TOKEN="+teamToken), "job", "status", "-namespace", "team-a", "team-web"); code != 0 || !strings.Contains(out, "team-web") {
		t.Errorf("CLI job status with the team's token: exit %d", code)
	}
	// alloc exec: the CLI's websocket over TLS to a server, proxied to the
	// client node over TLS with the server's certificate.
	allocs, _, err := team.Jobs().Allocations("team-web", false, inTeam)
	if err != nil || len(allocs) != 1 {
		t.Fatalf("team-web allocations: %v", err)
	}
	if out, code := runIn(t, lab.dir, append(env, "NOMAD_TOKEN="+teamToken), "alloc", "exec", "-namespace", "team-a", allocs[0].ID, "/bin/echo", "through-tls"); code != 0 || !strings.Contains(out, "through-tls") {
		t.Errorf("CLI alloc exec over TLS: exit %d", code)
	}
	if _, code := runIn(t, lab.dir, env, "node", "status"); code == 0 {
		t.Error("CLI node status without a token succeeded")
	}
	if out, code := runIn(t, lab.dir, append(env[:2:2], "NOMAD_TOKEN="+boot.SecretID), "node", "status"); code == 0 || !strings.Contains(out, "certificate required") {
		t.Errorf("CLI without a client certificate: exit %d, want the handshake refused", code)
	}
	if out, code := runIn(t, lab.dir, nil, "-address", c.servers[0].addr, "-token", boot.SecretID, "-ca-cert", lab.path("nomad-agent-ca.pem"),
		"-client-cert", lab.path("global-cli-nomad.pem"), "-client-key", lab.path("global-cli-nomad-key.pem"), "server", "members"); code != 0 || strings.Count(out, "alive") != 3 {
		t.Errorf("CLI server members with flags: exit %d", code)
	}

	// A client with another CA's certificate cannot join, token or not.
	rogueLab := newTLSLab(t)
	rogue := c.startClient("rogue", rogueLab, fmt.Sprintf("  intro_token = %q", intro))
	logHas(t, rogue, "the rogue client's refused handshake", "certificate signed by unknown authority", "bad certificate", "not signed by this agent's CA")
	nodes, _, err := mgmt.Nodes().List(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if n.Name == "rogue" {
			t.Errorf("the rogue client registered: %+v", n)
		}
	}
	if _, _, err := officialClient(t, c.servers[0].addr, rogueLab, boot.SecretID).Jobs().List(inDefault); err == nil {
		t.Error("the API answered a CLI certificate of another CA (with a management token)")
	}
	// Raft's port speaks mutual TLS for servers only: another CA's server
	// certificate and the cluster's own client certificate are refused (a
	// compromised client node cannot talk Raft), a server's is accepted.
	for _, tc := range []struct {
		lab    *tlsLab
		role   string
		accept bool
	}{{lab, "server", true}, {lab, "client", false}, {rogueLab, "server", false}} {
		cert, err := tls.LoadX509KeyPair(tc.lab.path("global-"+tc.role+"-nomad.pem"), tc.lab.path("global-"+tc.role+"-nomad-key.pem"))
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
		if accepted := err == nil || errors.Is(err, os.ErrDeadlineExceeded); accepted != tc.accept {
			t.Errorf("Raft port with a %s certificate (rogue CA: %v): accepted %v (%v), want %v", tc.role, tc.lab == rogueLab, accepted, err, tc.accept)
		}
	}

	// SIGHUP: s1 presents a new certificate (same CA) to new connections;
	// s2, not signalled, still presents the old one.
	newDir := t.TempDir()
	if out, code := runIn(t, newDir, nil, "tls", "cert", "create", "-server", "-additional-dnsname", "reloaded.example",
		"-ca", lab.path("nomad-agent-ca.pem"), "-key", lab.path("nomad-agent-ca-key.pem")); code != 0 {
		t.Fatalf("tls cert create: %s", out)
	}
	oldSerial, _ := peerCert(t, lab, c.serverHTTP[0])
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
		serial, names := peerCert(t, lab, c.serverHTTP[0])
		return slices.Contains(names, "reloaded.example") && serial != oldSerial, fmt.Sprintf("serial %s, names %v", serial, names)
	})
	if serial, _ := peerCert(t, lab, c.serverHTTP[1]); serial != oldSerial {
		t.Errorf("s2 was not signalled but presents serial %s, not %s", serial, oldSerial)
	}
	if _, _, err := officialClient(t, c.servers[0].addr, lab, teamToken).Jobs().Info("team-web", inTeam); err != nil {
		t.Errorf("the reloaded server answers: %v", err)
	}
}

// officialSleepJob is a raw_exec sleep in namespace ns, built with the
// official client's types.
func officialSleepJob(id, ns string) *nomad.Job {
	job := nomad.NewServiceJob(id, id, "global", 50)
	job.Namespace = &ns
	job.Datacenters = []string{"*"}
	task := nomad.NewTask("sleep", "raw_exec").
		SetConfig("command", "/bin/sleep").
		SetConfig("args", []string{"300"}).
		Require(&nomad.Resources{CPU: new(20), MemoryMB: new(16)})
	task.Env = map[string]string{"E2E_RUN": runToken}
	job.AddTaskGroup(nomad.NewTaskGroup("g", 1).AddTask(task))
	return job
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
