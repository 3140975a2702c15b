package agent

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/server"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// autopilotConfiguration is Nomad's api.AutopilotConfiguration (its
// durations travel as strings, "200ms").
type autopilotConfiguration struct {
	CleanupDeadServers      bool
	LastContactThreshold    string
	MaxTrailingLogs         uint64
	MinQuorum               uint
	ServerStabilizationTime string
	EnableRedundancyZones   bool
	DisableUpgradeMigration bool
	EnableCustomUpgrades    bool
	CreateIndex             uint64
	ModifyIndex             uint64
}

// nomadlike's autopilot is fixed: the leader adds servers as voters when
// they join and removes those that leave (force-leave -prune removes a
// failed one); these are Nomad's defaults, which is what it does.
var fixedAutopilot = autopilotConfiguration{
	CleanupDeadServers:      true,
	LastContactThreshold:    "200ms",
	MaxTrailingLogs:         250,
	ServerStabilizationTime: "10s",
}

// autopilotGet is GET /v1/operator/autopilot/configuration. ACL: operator read.
func (s *HTTPServer) autopilotGet(w http.ResponseWriter, _ *http.Request) (any, error) {
	setIndex(w, 1)
	c := fixedAutopilot
	c.CreateIndex, c.ModifyIndex = 1, 1
	return &c, nil
}

// autopilotPut is PUT /v1/operator/autopilot/configuration: refused, the
// configuration is fixed. ACL: operator write.
func (s *HTTPServer) autopilotPut(_ http.ResponseWriter, _ *http.Request) (any, error) {
	return nil, &structs.CodedError{Code: http.StatusNotImplemented,
		Msg: "nomadlike's autopilot configuration is fixed (Nomad's defaults: dead servers cleaned up, last contact threshold 200ms, max trailing logs 250, stabilization 10s) and cannot be changed; remove failed servers with PUT /v1/agent/force-leave?node=<name>&prune=true"}
}

// serverHealth is Nomad's api.ServerHealth (LastContact as a duration string).
type serverHealth struct {
	ID          string
	Name        string
	Address     string
	SerfStatus  string
	Version     string
	Leader      bool
	LastContact string
	LastTerm    uint64
	LastIndex   uint64
	Healthy     bool
	Voter       bool
	StableSince time.Time
}

// operatorHealthReply is Nomad's api.OperatorHealthReply.
type operatorHealthReply struct {
	Healthy          bool
	FailureTolerance int
	Servers          []serverHealth
	Leader           string
	Voters           []string
}

// autopilotHealth is GET /v1/operator/autopilot/health: each Raft server
// with its serf status. ACL: operator read.
func (s *HTTPServer) autopilotHealth(w http.ResponseWriter, _ *http.Request) (any, error) {
	if s.cluster == nil {
		return nil, errNoCluster()
	}
	cfg, err := s.cluster.RaftConfig()
	if err != nil {
		return nil, err
	}
	status := map[string]string{}
	for _, m := range s.cluster.Members() {
		status[m.Tags["id"]] = m.Status
		status[m.Name] = m.Status
	}
	out := &operatorHealthReply{Healthy: true}
	healthyVoters := 0
	for _, srv := range cfg.Servers {
		serf := status[srv.ID]
		if serf == "" {
			serf = status[srv.Node]
		}
		h := serverHealth{ID: srv.ID, Name: srv.Node, Address: srv.Address, SerfStatus: serf, Version: s.srv.Stats()["version"],
			Leader: srv.Leader, LastContact: "0s", LastIndex: cfg.Index, Healthy: serf == "alive", Voter: srv.Voter}
		if srv.Leader {
			out.Leader = srv.ID
		}
		if srv.Voter {
			out.Voters = append(out.Voters, srv.ID)
			if h.Healthy {
				healthyVoters++
			}
		}
		out.Healthy = out.Healthy && h.Healthy
		out.Servers = append(out.Servers, h)
	}
	out.FailureTolerance = max(0, healthyVoters-(len(out.Voters)/2+1))
	setIndex(w, cfg.Index)
	return out, nil
}

// schedulerWorker is Nomad's api.AgentSchedulerWorkerInfo.
type schedulerWorker struct {
	ID                string   `json:"id"`
	EnabledSchedulers []string `json:"enabled_schedulers"`
	Started           string   `json:"started"`
	Status            string   `json:"status"`
	WorkloadStatus    string   `json:"workload_status"`
}

// agentSchedulers is GET /v1/agent/schedulers: the server's scheduler
// workers (they run on the leader only). ACL: agent read.
func (s *HTTPServer) agentSchedulers(_ http.ResponseWriter, _ *http.Request) (any, error) {
	n := s.cfg.Agent.Server.NumSchedulers
	if n <= 0 {
		n = server.DefaultNumSchedulers()
	}
	status, workload := "paused", "Paused"
	if s.srv.IsLeader() {
		status, workload = "started", "WaitingToDequeue"
	}
	workers := make([]schedulerWorker, n)
	for i := range workers {
		workers[i] = schedulerWorker{ID: strconv.Itoa(i), Status: status, WorkloadStatus: workload,
			EnabledSchedulers: []string{structs.JobTypeService, structs.JobTypeBatch, structs.JobTypeSystem, structs.JobTypeSysBatch}}
	}
	return map[string]any{"server_id": s.cfg.Agent.Name + "." + s.cfg.Agent.Region, "schedulers": workers}, nil
}

// wellKnownJWKS is GET /.well-known/jwks.json: the public keys that sign
// workload identities (Ed25519, one per root key). Served by any server
// from its own keyring copy; a client-only agent has none.
func (s *HTTPServer) wellKnownJWKS(w http.ResponseWriter, _ *http.Request) (any, error) {
	is, ok := s.srv.(IdentityServer)
	if !ok {
		return map[string]any{"keys": []any{}}, nil
	}
	keys, idx, err := is.PublicKeys()
	if err != nil {
		return nil, err
	}
	setIndex(w, idx)
	w.Header().Set("Cache-Control", "max-age=60")
	return map[string]any{"keys": keys}, nil
}

// wellKnownOpenID is GET /.well-known/openid-configuration, Nomad's OIDC
// discovery document for workload identities.
func (s *HTTPServer) wellKnownOpenID(_ http.ResponseWriter, r *http.Request) (any, error) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	issuer := scheme + "://" + r.Host
	return map[string]any{
		"issuer":                                issuer,
		"jwks_uri":                              issuer + "/.well-known/jwks.json",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"EdDSA"},
	}, nil
}

// knownRegions are this agent's region and those of the servers it knows.
func (s *HTTPServer) knownRegions() []string {
	regions := []string{s.cfg.Agent.Region}
	if s.cluster != nil {
		for _, m := range s.cluster.Members() {
			if r := m.Tags["region"]; r != "" {
				regions = append(regions, r)
			}
		}
	}
	slices.Sort(regions)
	return slices.Compact(regions)
}
