package agent

import (
	"encoding/json"
	"fmt"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
)

// Version is nomadlike's version without the leading "v", as `nomadlike
// version`, the agent's banner, /v1/agent/self and the member tags report
// it. Release builds set it with -ldflags
// "-X github.com/nomadlike/nomadlike/agent.Version=1.2.3".
var Version = "0.1.0-dev"

// agentSelf is the reply of GET /v1/agent/self (api.AgentSelf).
type agentSelf struct {
	Config map[string]any               `json:"config"`
	Member *structs.AgentMember         `json:"member"`
	Stats  map[string]map[string]string `json:"stats"`
}

// member describes this agent as a serf-like member.
func (s *HTTPServer) member() *structs.AgentMember {
	c := s.cfg.Agent
	addr, port := splitHostPort(c.Advertise.Serf, c.Ports.Serf)
	_, rpcPort := splitHostPort(c.Advertise.RPC, c.Ports.RPC)
	tags := map[string]string{
		"region": c.Region, "dc": c.Datacenter, "build": Version, "port": strconv.Itoa(int(rpcPort)),
		"raft_vsn": "3", "vsn": "1", "mvn": "1",
	}
	if c.Server.Enabled {
		tags["role"] = "nomad"
		tags["expect"] = strconv.Itoa(c.Server.BootstrapExpect)
		if c.Server.BootstrapExpect == 1 {
			tags["bootstrap"] = "1"
		}
	} else {
		tags["role"] = "client"
	}
	return &structs.AgentMember{
		Name: c.Name + "." + c.Region, Addr: addr, Port: port, Tags: tags, Status: "alive",
		ProtocolMin: 1, ProtocolMax: 5, ProtocolCur: 2, DelegateMin: 2, DelegateMax: 5, DelegateCur: 4,
	}
}

func splitHostPort(hp string, defPort int) (string, uint16) {
	host, p, err := net.SplitHostPort(hp)
	if err != nil {
		return hp, uint16(defPort)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		return host, uint16(defPort)
	}
	return host, uint16(n)
}

func (s *HTTPServer) agentSelf(_ http.ResponseWriter, _ *http.Request) (any, error) {
	cfgJSON, err := json.Marshal(s.cfg.Agent)
	if err != nil {
		return nil, fmt.Errorf("encode agent config: %w", err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(cfgJSON, &cfg); err != nil {
		return nil, fmt.Errorf("decode agent config: %w", err)
	}
	// The gossip key, tokens and other secrets are never served.
	redactSecrets(cfg)
	cfg["NodeName"] = s.cfg.Agent.Name
	release, pre, _ := strings.Cut(Version, "-")
	cfg["Version"] = map[string]any{"Version": release, "VersionPrerelease": pre, "VersionMetadata": "", "Revision": ""}
	cfg["ACL"] = map[string]any{"Enabled": false}
	cfg["UI"] = map[string]any{"Enabled": true}
	stats := map[string]map[string]string{
		"runtime": {
			"goroutines": strconv.Itoa(runtime.NumGoroutine()), "version": runtime.Version(),
			"arch": runtime.GOARCH, "os": runtime.GOOS, "max_procs": strconv.Itoa(runtime.GOMAXPROCS(0)),
		},
	}
	if s.srv != nil {
		stats["nomad"] = s.srv.Stats()
		if stats["nomad"] == nil {
			stats["nomad"] = map[string]string{}
		}
		stats["nomad"]["leader"] = strconv.FormatBool(s.srv.IsLeader())
		stats["nomad"]["server"] = "true"
	}
	if s.client != nil {
		stats["client"] = map[string]string{"node_id": s.client.NodeID()}
	}
	return &agentSelf{Config: cfg, Member: s.member(), Stats: stats}, nil
}

func (s *HTTPServer) agentMembers(_ http.ResponseWriter, _ *http.Request) (any, error) {
	c := s.cfg.Agent
	out := &structs.ServerMembers{ServerName: c.Name, ServerRegion: c.Region, ServerDC: c.Datacenter}
	if s.cluster == nil {
		out.Members = []*structs.AgentMember{s.member()}
		return out, nil
	}
	for _, m := range s.cluster.Members() {
		out.Members = append(out.Members, &m)
	}
	return out, nil
}

// agentHealth is one role's health in GET /v1/agent/health.
type agentHealth struct {
	Ok      bool   `json:"ok"`
	Message string `json:"message"`
}

type agentHealthResponse struct {
	Client *agentHealth `json:"client,omitempty"`
	Server *agentHealth `json:"server,omitempty"`
}

func (s *HTTPServer) agentHealth(w http.ResponseWriter, r *http.Request) (any, error) {
	resp := &agentHealthResponse{}
	ok := true
	if s.srv != nil {
		ready, why := s.srv.Ready()
		resp.Server = &agentHealth{Ok: ready, Message: why}
		ok = ready
	}
	if s.client != nil {
		resp.Client = &agentHealth{Ok: true, Message: "ok"}
	}
	if !ok {
		s.writeJSON(w, r, http.StatusInternalServerError, resp)
		return nil, errHandled
	}
	return resp, nil
}

func (s *HTTPServer) statusLeader(w http.ResponseWriter, r *http.Request) (any, error) {
	if c, ok := s.srv.(clockStamper); ok && r.Header.Get(leaderForwardedHeader) != "" {
		c.StampClock(w) // a follower measuring this server's clock (server.Forward)
	}
	return s.srv.Leader(), nil
}

func (s *HTTPServer) statusPeers(_ http.ResponseWriter, _ *http.Request) (any, error) {
	peers := s.srv.Peers()
	if peers == nil {
		peers = []string{}
	}
	return peers, nil
}

func (s *HTTPServer) regions(_ http.ResponseWriter, _ *http.Request) (any, error) {
	return s.knownRegions(), nil
}
