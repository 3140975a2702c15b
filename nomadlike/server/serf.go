package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/serf/serf"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Serf tags, as Nomad's servers gossip them (api.AgentMember.Tags), plus
// http_addr, which nomadlike followers forward requests to.
const (
	tagRole      = "role"
	tagRegion    = "region"
	tagDC        = "dc"
	tagBuild     = "build"
	tagPort      = "port"
	tagExpect    = "expect"
	tagBootstrap = "bootstrap"
	tagID        = "id"
	tagRPCAddr   = "rpc_addr"
	tagHTTPAddr  = "http_addr"
	tagRaftVsn   = "raft_vsn"
	tagVsn       = "vsn"
	tagMvn       = "mvn"
	// roleServer is Nomad's role tag value for servers.
	roleServer = "nomad"
	// DefaultSerfPort is the serf port used when a join address has none.
	DefaultSerfPort = 4648
	// serfReconnectInterval is how often serf tries to reach failed members.
	serfReconnectInterval = 5 * time.Second
)

// serverMember is a server in the serf pool, parsed from its tags.
type serverMember struct {
	name     string // serf name, "<node>.<region>"
	id       string // Raft server ID (the node name)
	region   string
	raftAddr string
	httpAddr string
	expect   int
	status   serf.MemberStatus
}

// parseServer returns the server a serf member describes, or false when the
// member is not a nomadlike server.
func parseServer(m serf.Member) (serverMember, bool) {
	if m.Tags[tagRole] != roleServer {
		return serverMember{}, false
	}
	expect, _ := strconv.Atoi(m.Tags[tagExpect])
	return serverMember{
		name: m.Name, id: m.Tags[tagID], region: m.Tags[tagRegion],
		raftAddr: m.Tags[tagRPCAddr], httpAddr: m.Tags[tagHTTPAddr],
		expect: expect, status: m.Status,
	}, true
}

// serfTags are the tags this server gossips.
func (s *Server) serfTags(raftAddr string) map[string]string {
	_, port, _ := net.SplitHostPort(raftAddr)
	tags := map[string]string{
		tagRole: roleServer, tagRegion: s.cfg.Region, tagDC: s.cfg.Datacenter, tagBuild: s.cfg.Build,
		tagPort: port, tagExpect: strconv.Itoa(s.cfg.BootstrapExpect), tagID: s.raftID,
		tagRPCAddr: raftAddr, tagHTTPAddr: s.cfg.HTTPAddr, tagRaftVsn: "3", tagVsn: "1", tagMvn: "1",
	}
	if s.cfg.BootstrapExpect == 1 {
		tags[tagBootstrap] = "1"
	}
	if s.keystore != nil {
		tags[tagKEK] = kekTag(s.keystore.publicKey())
	}
	return tags
}

// setupSerf creates the serf LAN pool on SerfBindAddr. Membership events
// arrive on the returned channel, which the caller must drain.
func (s *Server) setupSerf(raftAddr string) (<-chan serf.Event, error) {
	host, port, err := splitAddr(s.cfg.SerfBindAddr, DefaultSerfPort)
	if err != nil {
		return nil, fmt.Errorf("serf bind address %q: %w", s.cfg.SerfBindAddr, err)
	}
	events := make(chan serf.Event, 256)
	conf := serf.DefaultConfig()
	conf.Init()
	conf.NodeName = s.cfg.NodeName + "." + s.cfg.Region
	conf.Tags = s.serfTags(raftAddr)
	conf.EventCh = events
	// Retry failed members often: a healed partition is noticed within
	// seconds, not serf's default 30.
	conf.ReconnectInterval = serfReconnectInterval
	conf.LogOutput = nil
	conf.Logger = slog.NewLogLogger(s.logger.With("component", "serf").Handler(), slog.LevelDebug)
	conf.MemberlistConfig = memberlist.DefaultLANConfig()
	conf.MemberlistConfig.Name = conf.NodeName
	conf.MemberlistConfig.BindAddr = host
	conf.MemberlistConfig.BindPort = port
	conf.MemberlistConfig.Logger = slog.NewLogLogger(s.logger.With("component", "memberlist").Handler(), slog.LevelDebug)
	if s.cfg.SerfAdvertise != "" {
		ahost, aport, err := splitAddr(s.cfg.SerfAdvertise, port)
		if err != nil {
			return nil, fmt.Errorf("serf advertise address %q: %w", s.cfg.SerfAdvertise, err)
		}
		conf.MemberlistConfig.AdvertiseAddr, conf.MemberlistConfig.AdvertisePort = ahost, aport
	}
	dir := filepath.Join(s.cfg.DataDir, "server", "serf")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create serf directory %s: %w", dir, err)
	}
	// The snapshot lets a restarted server rejoin the members it knew.
	conf.SnapshotPath = filepath.Join(dir, "local.snapshot")
	keyring, keyFile, err := s.loadKeyring(dir)
	if err != nil {
		return nil, err
	}
	if keyring != nil {
		conf.MemberlistConfig.Keyring = keyring
		conf.KeyringFile = keyFile
	}
	sf, err := serf.Create(conf)
	if err != nil {
		return nil, fmt.Errorf("start serf gossip on %s (is the serf port %d free? set ports { serf = ... }): %w", s.cfg.SerfBindAddr, port, err)
	}
	s.serf = sf
	return events, nil
}

// loadKeyring returns the gossip keyring: the keyring file from an earlier
// run (which records installed and rotated keys) or a new one holding
// EncryptKey. It returns nil when gossip is not encrypted.
func (s *Server) loadKeyring(dir string) (*memberlist.Keyring, string, error) {
	path := filepath.Join(dir, "local.keyring")
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		var encoded []string
		if err := json.Unmarshal(b, &encoded); err != nil {
			return nil, "", fmt.Errorf("gossip keyring %s is not a JSON list of base64 keys: %w (fix or delete it)", path, err)
		}
		var keys [][]byte
		for i, e := range encoded {
			k, err := base64.StdEncoding.DecodeString(e)
			if err != nil {
				return nil, "", fmt.Errorf("gossip keyring %s: key %d is not base64: %w", path, i, err)
			}
			keys = append(keys, k)
		}
		if len(keys) == 0 {
			return nil, "", fmt.Errorf("gossip keyring %s holds no keys: delete it to use server.encrypt", path)
		}
		if s.cfg.EncryptKey != nil && base64.StdEncoding.EncodeToString(keys[0]) != base64.StdEncoding.EncodeToString(s.cfg.EncryptKey) {
			s.logger.Warn("server.encrypt differs from the primary key of the keyring file, which wins (it records key rotations)", "keyring", path)
		}
		kr, err := memberlist.NewKeyring(keys, keys[0])
		if err != nil {
			return nil, "", fmt.Errorf("gossip keyring %s: %w", path, err)
		}
		return kr, path, nil
	case !errors.Is(err, os.ErrNotExist):
		return nil, "", fmt.Errorf("read gossip keyring %s: %w", path, err)
	}
	if s.cfg.EncryptKey == nil {
		return nil, "", nil
	}
	kr, err := memberlist.NewKeyring(nil, s.cfg.EncryptKey)
	if err != nil {
		return nil, "", fmt.Errorf("server.encrypt: %w (generate a key with `nomadlike operator gossip keyring -generate`)", err)
	}
	out, _ := json.Marshal([]string{base64.StdEncoding.EncodeToString(s.cfg.EncryptKey)})
	if err := os.WriteFile(path, out, 0o600); err != nil {
		return nil, "", fmt.Errorf("write gossip keyring %s: %w", path, err)
	}
	return kr, path, nil
}

// splitAddr splits host:port, using def when there is no port.
func splitAddr(addr string, def int) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, def, nil //nolint:nilerr // no port: the whole thing is a host
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("port %q is not a number between 0 and 65535", p)
	}
	return host, port, nil
}

// withSerfPort adds the default serf port to a join address without one.
func withSerfPort(addr string) string {
	if _, _, err := net.SplitHostPort(addr); err == nil {
		return addr
	}
	return net.JoinHostPort(addr, strconv.Itoa(DefaultSerfPort))
}

// Join asks the serf pool at each address to admit this server. It returns
// how many addresses were joined.
func (s *Server) Join(addrs []string) (int, error) {
	if s.serf == nil {
		return 0, errNoSerf()
	}
	norm := make([]string, len(addrs))
	for i, a := range addrs {
		norm[i] = withSerfPort(a)
	}
	n, err := s.serf.Join(norm, true)
	if err != nil {
		return n, fmt.Errorf("join %v: %w (check the serf port of the other server and the gossip encryption key)", norm, err)
	}
	return n, nil
}

// retryJoin joins RetryJoin in the background until one join succeeds.
func (s *Server) retryJoin(ctx context.Context) {
	addrs := s.cfg.RetryJoin
	for attempt := 1; ; attempt++ {
		n, err := s.Join(addrs)
		if n > 0 {
			s.logger.Info("retry_join succeeded", "joined", n, "attempt", attempt)
			return
		}
		if s.cfg.RetryMaxAttempts > 0 && attempt >= s.cfg.RetryMaxAttempts {
			s.logger.Error("retry_join gave up; this server has not joined a cluster (check server_join.retry_join and that the other servers run)",
				"addresses", addrs, "attempts", attempt, "error", err)
			return
		}
		s.logger.Warn("retry_join failed; retrying", "addresses", addrs, "attempt", attempt, "retry_in", s.cfg.RetryInterval, "error", err)
		t := time.NewTimer(s.cfg.RetryInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// ForceLeave moves a failed member to "left" (prune also forgets it), so the
// leader removes it from Raft.
func (s *Server) ForceLeave(node string, prune bool) error {
	if s.serf == nil {
		return errNoSerf()
	}
	var err error
	if prune {
		err = s.serf.RemoveFailedNodePrune(node)
	} else {
		err = s.serf.RemoveFailedNode(node)
	}
	if err != nil {
		return fmt.Errorf("force-leave %q: %w", node, err)
	}
	s.triggerReconcile()
	return nil
}

// Members returns the serf pool's members; without serf, just this server.
func (s *Server) Members() []structs.AgentMember {
	if s.serf == nil {
		host, port, _ := splitAddr(s.cfg.SerfAdvertise, DefaultSerfPort)
		return []structs.AgentMember{{
			Name: s.cfg.NodeName + "." + s.cfg.Region, Addr: host, Port: uint16(port),
			Tags: s.serfTags(s.localRaftAddr()), Status: "alive",
			ProtocolMin: 1, ProtocolMax: 5, ProtocolCur: 2, DelegateMin: 2, DelegateMax: 5, DelegateCur: 4,
		}}
	}
	var out []structs.AgentMember
	for _, m := range s.serf.Members() {
		out = append(out, structs.AgentMember{
			Name: m.Name, Addr: m.Addr.String(), Port: m.Port, Tags: m.Tags, Status: m.Status.String(),
			ProtocolMin: m.ProtocolMin, ProtocolMax: m.ProtocolMax, ProtocolCur: m.ProtocolCur,
			DelegateMin: m.DelegateMin, DelegateMax: m.DelegateMax, DelegateCur: m.DelegateCur,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// servers returns the servers of this region in the serf pool.
func (s *Server) servers() []serverMember {
	if s.serf == nil {
		return nil
	}
	var out []serverMember
	for _, m := range s.serf.Members() {
		if sm, ok := parseServer(m); ok && sm.region == s.cfg.Region {
			out = append(out, sm)
		}
	}
	return out
}

// ServerHTTPAddrs returns the HTTP addresses (host:port) of the alive
// servers, this one first; clients refresh their server list from it.
func (s *Server) ServerHTTPAddrs() []string {
	var out []string
	if s.cfg.HTTPAddr != "" {
		out = append(out, s.cfg.HTTPAddr)
	}
	for _, m := range s.servers() {
		if m.status == serf.StatusAlive && m.httpAddr != "" && m.httpAddr != s.cfg.HTTPAddr {
			out = append(out, m.httpAddr)
		}
	}
	return out
}

// LeaderHTTPAddr returns the leader's HTTP address (host:port), or "" when
// there is no leader or its address is not known yet.
func (s *Server) LeaderHTTPAddr() string {
	addr, id := s.raft.LeaderWithID()
	if addr == "" {
		return ""
	}
	if string(id) == s.raftID {
		return s.cfg.HTTPAddr
	}
	for _, m := range s.servers() {
		if m.id == string(id) || m.raftAddr == string(addr) {
			return m.httpAddr
		}
	}
	return ""
}

// LastContact is how long ago this server last heard from the leader (0 on
// the leader itself), for X-Nomad-LastContact.
func (s *Server) LastContact() time.Duration {
	if s.IsLeader() {
		return 0
	}
	last := s.raft.LastContact()
	if last.IsZero() {
		return 0
	}
	return time.Since(last)
}

func errNoSerf() error {
	return structs.NewBadRequest("this server runs without serf gossip (-dev or no data_dir): it cannot join or leave a cluster")
}

// KeyringOp is an operation on the gossip keyring.
type KeyringOp int

// Keyring operations, as `nomadlike operator gossip keyring` offers them.
const (
	KeyringList KeyringOp = iota
	KeyringInstall
	KeyringUse
	KeyringRemove
)

// KeyringResponse is Nomad's reply to /v1/agent/keyring/*: the keys known
// in the pool, each with how many members hold it.
type KeyringResponse struct {
	Messages map[string]string
	Keys     map[string]int
	NumNodes int
}

// Keyring runs a keyring operation across the serf pool.
func (s *Server) Keyring(op KeyringOp, key string) (*KeyringResponse, error) {
	if s.serf == nil {
		return nil, errNoSerf()
	}
	if !s.serf.EncryptionEnabled() {
		return nil, structs.NewBadRequest("gossip encryption is not enabled on this server: set server { encrypt = \"<key>\" } on every server (a base64 key of 32 random bytes) and restart them")
	}
	km := s.serf.KeyManager()
	var (
		resp *serf.KeyResponse
		err  error
		what string
	)
	switch op {
	case KeyringList:
		what = "list"
		resp, err = km.ListKeys()
	case KeyringInstall:
		what = "install"
		resp, err = km.InstallKey(key)
	case KeyringUse:
		what = "use"
		resp, err = km.UseKey(key)
	case KeyringRemove:
		what = "remove"
		resp, err = km.RemoveKey(key)
	default:
		return nil, fmt.Errorf("unknown keyring operation %d", op)
	}
	if resp == nil {
		return nil, fmt.Errorf("keyring %s: %w", what, err)
	}
	out := &KeyringResponse{Messages: resp.Messages, Keys: resp.Keys, NumNodes: resp.NumNodes}
	if err != nil {
		return out, &structs.CodedError{Code: 500, Msg: fmt.Sprintf("keyring %s failed on some members: %v", what, resp.Messages), Err: err}
	}
	return out, nil
}
