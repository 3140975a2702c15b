package agent

import (
	"crypto/tls"
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/nomadlike/nomadlike/nomadlike/server"
)

// DefaultMaxBodyBytes bounds request bodies (16 MiB).
const DefaultMaxBodyBytes = 16 << 20

// HTTPConfig configures an HTTPServer.
type HTTPConfig struct {
	// Server is the local server; nil on a client-only agent, which then
	// proxies server endpoints to ServerURLs.
	Server ServerAPI
	// Cluster is the local server's cluster side (membership, Raft peers,
	// snapshots, leader forwarding); nil on a client-only agent or in tests
	// that use a fake server.
	Cluster ClusterAPI
	// Client is the local client; nil on a server-only agent.
	Client ClientAPI
	// ParseJob parses HCL for /v1/jobs/parse.
	ParseJob JobParser
	// Auth authenticates each request; nil allows all (ACLs disabled).
	Auth Authenticator
	// Agent is the agent's configuration, served by /v1/agent/self.
	Agent *Config
	// LocalClientKey, with ACLs enabled, is the secret this agent's own
	// client registers its node with (it never leaves the process).
	LocalClientKey string
	// ServerURLs are servers' HTTP base URLs, for a client-only agent.
	ServerURLs []string
	// ServerTLS and AgentTLS, when set, make requests to other agents go
	// over https://: ServerTLS to servers (leader forwarding, a client-only
	// agent's proxy), AgentTLS to any agent (a client node's logs). Nil
	// means http://.
	ServerTLS, AgentTLS *tls.Config
	// AgentCertRequired (tls.rpc) refuses client-to-server calls without a
	// verified certificate of the CA, valid for one of AgentCertNames when
	// that is not empty (verify_server_hostname; http_peer.go).
	AgentCertRequired bool
	AgentCertNames    []string
	// MaxBodyBytes bounds request bodies; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	Logger       *slog.Logger
	// Metrics is the agent's registry (shared with its server and client),
	// served by GET /v1/metrics; nil: the API's own.
	Metrics *prometheus.Registry
	// logs feeds GET /v1/agent/monitor; nil answers it with 501.
	logs *logHub
	// forwardTransport, when set (tests), wraps the transport of requests
	// forwarded to the leader.
	forwardTransport func(http.RoundTripper) http.RoundTripper
	// admissionSlots replaces the number of server API requests worked
	// on at once (tests; 0 is the default, http_admission.go).
	admissionSlots int
}

// HTTPServer serves the /v1 API. Create it with NewHTTPServer and mount
// Handler() on an http.Server.
type HTTPServer struct {
	cfg     HTTPConfig
	srv     ServerAPI
	cluster ClusterAPI
	client  ClientAPI
	logger  *slog.Logger
	handler http.Handler
	metrics *httpMetrics
	// selfAddr is this agent's advertised HTTP address (host:port), set once it listens.
	selfAddr atomic.Value
	proxy    *serverProxy
	// toServers and toAgents carry requests to other agents (http_peer.go).
	toServers, toAgents *peerDialer
	// longPolls counts each remote IP's open blocking queries and streams.
	longPolls longPolls
	// admission bounds the server API requests worked on at once.
	admission *admission
	// audit logs every denied request (component "audit").
	audit *slog.Logger
	// serverRoutes are the routes ("METHOD template") a client-only agent
	// proxies to a server, which enforces their ACL rules.
	serverRoutes map[string]bool
	// router matches the routes; dispatch serves them.
	router *mux.Router
	// routerMiddleware is what router.Use was given (dispatch applies it
	// to the routes it matches through exactRoutes).
	routerMiddleware []mux.MiddlewareFunc
	// exactRoutes, for each path of a route without variables, lists
	// the routes that can match a request for exactly that path.
	exactRoutes map[string][]*mux.Route
}

// NewHTTPServer builds the route table and the middleware chain.
func NewHTTPServer(cfg HTTPConfig) *HTTPServer {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Agent == nil {
		cfg.Agent = DefaultConfig()
	}
	if cfg.Auth == nil {
		cfg.Auth = newAuthenticator(cfg)
	}
	s := &HTTPServer{
		cfg:     cfg,
		srv:     cfg.Server,
		cluster: cfg.Cluster,
		client:  cfg.Client,
		logger:  cfg.Logger.With("component", "http"),
		metrics: newHTTPMetrics(cfg.Metrics),
		audit:   cfg.Logger.With("component", "audit"),

		serverRoutes: map[string]bool{},
		admission:    newAdmission(cfg.admissionSlots, admissionWait),
	}
	s.selfAddr.Store("")
	s.toServers = newPeerDialer(cfg.ServerTLS)
	s.toAgents = newPeerDialer(cfg.AgentTLS)
	if s.srv == nil {
		s.proxy = newServerProxy(cfg.ServerURLs, s.logger)
	}
	r := mux.NewRouter()
	// Child job IDs hold a "/" ("<parent>/periodic-<t>"), sent escaped as
	// %2F: match on the escaped path, then unescape the path variables.
	r.UseEncodedPath()
	s.routerMiddleware = []mux.MiddlewareFunc{unescapeVars, s.authorize}
	r.Use(s.routerMiddleware...)
	s.routes(r)
	s.router = r
	s.exactRoutes = exactRouteTable(r)
	s.handler = s.middleware(http.HandlerFunc(s.dispatch))
	return s
}

// Handler returns the API with its middleware chain.
func (s *HTTPServer) Handler() http.Handler { return s.handler }

// SetSelfAddr records this agent's advertised HTTP address (host:port), used
// to avoid proxying log requests back to ourselves.
func (s *HTTPServer) SetSelfAddr(addr string) { s.selfAddr.Store(addr) }

func (s *HTTPServer) self() string { return s.selfAddr.Load().(string) }

// routes is the one route table: every endpoint with its methods.
func (s *HTTPServer) routes(r *mux.Router) {
	get, put := []string{http.MethodGet}, []string{http.MethodPut, http.MethodPost}
	del := []string{http.MethodDelete}
	// srv routes are served by the leader: a follower forwards them
	// (reads with ?stale excepted); local ones by any server.
	served := func(path string, methods []string) {
		for _, m := range methods {
			s.serverRoutes[routeKey(m, path)] = true
		}
	}
	srv := func(path string, methods []string, h handlerFunc) {
		served(path, methods)
		r.Handle(path, s.needServer(s.toLeader(s.admit(s.wrap(h), admissionExempt(path))))).Methods(methods...)
	}
	local := func(path string, methods []string, h handlerFunc) {
		served(path, methods)
		r.Handle(path, s.needServer(s.wrap(h))).Methods(methods...)
	}
	// The client protocol first: every node calls these all the time, and
	// the router tries routes in order (a regexp each; ~60 routes before
	// these were ~5% of a server's CPU under nodesim). Of the routes that
	// were before them only a node pool's matches their paths (a pool
	// named "allocations"): it stays before them.
	srv("/v1/node/pool/{name}", get, s.nodePoolInfo)
	srv("/v1/node/pool/{name}", del, s.nodePoolDelete)
	srv("/v1/node/{id}/heartbeat", put, s.nodeHeartbeat)
	srv("/v1/node/{id}/allocations", get, s.nodeAllocations)
	srv("/v1/node/{id}/allocations", put, s.nodeUpdateAllocations)
	// The client protocol's allocation watch (http_node_client_allocs.go).
	srv("/v1/node/{id}/client-allocations", get, s.nodeClientAllocs)
	srv("/v1/node/{id}/client-allocations", put, s.nodePullAllocs)
	srv("/v1/jobs", get, s.jobsList)
	srv("/v1/jobs", put, s.jobsRegister)
	srv("/v1/jobs/parse", put, s.jobsParse)
	srv("/v1/validate/job", put, s.jobValidate)
	srv("/v1/job/{id:.+}/allocations", get, s.jobAllocations)
	srv("/v1/job/{id:.+}/evaluations", get, s.jobEvaluations)
	srv("/v1/job/{id:.+}/summary", get, s.jobSummary)
	srv("/v1/job/{id:.+}/versions", get, s.jobVersions)
	srv("/v1/job/{id:.+}/plan", put, s.jobPlan)
	srv("/v1/job/{id:.+}/revert", put, s.jobRevert)
	srv("/v1/job/{id:.+}/stable", put, s.jobStable)
	srv("/v1/job/{id:.+}/deployment", get, s.jobDeployment)
	srv("/v1/job/{id:.+}/deployments", get, s.jobDeployments)
	srv("/v1/job/{id:.+}/periodic/force", put, s.jobPeriodicForce)
	srv("/v1/job/{id:.+}/dispatch", put, s.jobDispatch)
	srv("/v1/job/{id:.+}/scale", get, s.jobScaleStatus)
	srv("/v1/job/{id:.+}/scale", put, s.jobScale)
	srv("/v1/job/{id:.+}/submission", get, s.jobSubmission)                                    // ACL: read-job
	srv("/v1/job/{id:.+}/evaluate", put, s.jobEvaluate)                                        // ACL: submit-job
	srv("/v1/job/{id:.+}/versions/{tag}/tag", append(put, http.MethodDelete), s.jobVersionTag) // ACL: submit-job
	// A websocket (the exec session), answered by the allocation's agent.
	r.Handle("/v1/job/{id:.+}/action", http.HandlerFunc(s.jobAction)).Methods(get...)
	// Job IDs may hold a raw "/" (Nomad's child jobs do): the ID is
	// everything up to a known suffix, so the bare routes come last.
	srv("/v1/job/{id:.+}", get, s.jobInfo)
	srv("/v1/job/{id:.+}", put, s.jobUpdate)
	srv("/v1/job/{id:.+}", del, s.jobDeregister)
	srv("/v1/scaling/policies", get, s.scalingPoliciesList)
	srv("/v1/scaling/policy/{id}", get, s.scalingPolicyInfo)

	srv("/v1/deployments", get, s.deploymentsList)
	srv("/v1/deployment/{id}", get, s.deploymentInfo)
	srv("/v1/deployment/allocations/{id}", get, s.deploymentAllocations)
	srv("/v1/deployment/fail/{id}", put, s.deploymentFail)
	srv("/v1/deployment/pause/{id}", put, s.deploymentPause)
	srv("/v1/deployment/promote/{id}", put, s.deploymentPromote)
	srv("/v1/deployment/allocation-health/{id}", put, s.deploymentAllocHealth)

	srv("/v1/allocations", get, s.allocsList)
	srv("/v1/allocation/{id}", get, s.allocInfo)
	srv("/v1/allocation/{id}/stop", put, s.allocStop)

	srv("/v1/evaluations", get, s.evalsList)
	srv("/v1/evaluations", del, s.evalsDelete)
	srv("/v1/evaluations/count", get, s.evalsCount)
	srv("/v1/evaluation/{id}", get, s.evalInfo)
	srv("/v1/evaluation/{id}/allocations", get, s.evalAllocations)

	srv("/v1/nodes", get, s.nodesList)
	// Node pools (http_node_pools.go), before /v1/node/{id} ("pools" is no node ID).
	srv("/v1/node/pools", get, s.nodePoolsList)
	srv("/v1/node/pools", put, s.nodePoolUpsert)
	srv("/v1/node/pool/{name}/nodes", get, s.nodePoolNodes)
	srv("/v1/node/pool/{name}/jobs", get, s.nodePoolJobs)
	srv("/v1/node/register", put, s.nodeRegister)
	srv("/v1/node/{id}", get, s.nodeInfo)
	srv("/v1/node/{id}/usage", put, s.nodeUsage)
	srv("/v1/node/{id}/drain", put, s.nodeDrain)
	srv("/v1/node/{id}/eligibility", put, s.nodeEligibility)
	srv("/v1/node/{id}/purge", put, s.nodePurge) // ACL: node write
	srv("/v1/node/{id}/services", put, s.nodeUpdateServices)
	srv("/v1/node/{id}/identities", put, s.nodeSignIdentities) // http_identity.go

	// Search (http_search.go); ACL: read of each context searched.
	srv("/v1/search", put, s.search)
	srv("/v1/search/fuzzy", put, s.fuzzySearch)

	srv("/v1/services", get, s.servicesList)
	srv("/v1/service/{name}", get, s.serviceInfo)
	srv("/v1/service/{name}/{id}", del, s.serviceDelete)

	local("/v1/agent/members", get, s.agentMembers)
	local("/v1/agent/join", put, s.agentJoin)
	local("/v1/agent/force-leave", put, s.agentForceLeave)
	local("/v1/agent/keyring/list", get, s.agentKeyring(server.KeyringList))
	local("/v1/agent/keyring/install", put, s.agentKeyring(server.KeyringInstall))
	local("/v1/agent/keyring/use", put, s.agentKeyring(server.KeyringUse))
	local("/v1/agent/keyring/remove", put, s.agentKeyring(server.KeyringRemove))
	local("/v1/status/leader", get, s.statusLeader)
	local("/v1/status/peers", get, s.statusPeers)
	local("/v1/regions", get, s.regions)
	srv("/v1/operator/raft/configuration", get, s.raftConfiguration)
	srv("/v1/operator/raft/peer", del, s.raftRemovePeer)
	srv("/v1/operator/autopilot/configuration", get, s.autopilotGet) // ACL: operator read
	srv("/v1/operator/autopilot/configuration", put, s.autopilotPut) // ACL: operator write
	srv("/v1/operator/autopilot/health", get, s.autopilotHealth)     // ACL: operator read
	local("/v1/agent/schedulers", get, s.agentSchedulers)            // ACL: agent read
	srv("/v1/operator/snapshot", get, s.snapshotSave)
	srv("/v1/operator/snapshot", put, s.snapshotRestore)
	srv("/v1/operator/scheduler/configuration", get, s.operatorSchedulerGet)
	srv("/v1/operator/scheduler/configuration", put, s.operatorSchedulerPut)
	srv("/v1/system/gc", put, s.systemGC)
	srv("/v1/system/reconcile/summaries", put, s.systemReconcileSummaries)
	s.aclRoutes(srv, get, put, del)
	// The keyring and variables (http_variables.go).
	srv("/v1/operator/keyring/keys", get, s.keyringList)
	srv("/v1/operator/keyring/rotate", put, s.keyringRotate)
	srv("/v1/operator/keyring/key/{id}", del, s.keyringRemove)
	srv("/v1/vars", get, s.varsList)
	srv("/v1/var/{path:.+}", get, s.varRead)
	srv("/v1/var/{path:.+}", put, s.varWrite)
	srv("/v1/var/{path:.+}", del, s.varDelete)

	// Streamed by any server from its own FSM (http_events.go).
	served("/v1/event/stream", get)
	r.Handle("/v1/event/stream", s.needServer(http.HandlerFunc(s.eventStream))).Methods(get...)

	// Served by every agent, server or client.
	r.Handle("/v1/client/fs/logs/{alloc}", http.HandlerFunc(s.clientLogs)).Methods(get...)
	// File-system API (http_client_fsapi.go); ACL: namespace read-fs.
	r.Handle("/v1/client/fs/ls/{id}", s.localFS(s.clientFSList)).Methods(get...)
	r.Handle("/v1/client/fs/stat/{id}", s.localFS(s.clientFSStat)).Methods(get...)
	r.Handle("/v1/client/fs/cat/{id}", s.localFS(s.clientFSRead)).Methods(get...)
	r.Handle("/v1/client/fs/readat/{id}", s.localFS(s.clientFSRead)).Methods(get...)
	r.Handle("/v1/client/fs/stream/{id}", s.localFS(s.clientFSStream)).Methods(get...)
	r.Handle("/v1/client/allocation/{id}/stats", s.wrap(s.clientAllocStats)).Methods(get...)
	r.Handle("/v1/client/allocation/{id}/checks", s.wrap(s.clientAllocChecks)).Methods(get...)
	r.Handle("/v1/client/allocation/{id}/restart", s.wrap(s.clientAllocRestart)).Methods(put...)
	r.Handle("/v1/client/allocation/{id}/signal", s.wrap(s.clientAllocSignal)).Methods(put...)
	r.Handle("/v1/client/allocation/{id}/exec", http.HandlerFunc(s.clientAllocExec)).Methods(get...)
	r.Handle("/v1/client/stats", s.wrap(s.clientHostStats)).Methods(get...)
	// The ingress's live routing table (http_client_ingress.go).
	r.Handle("/v1/client/ingress/routes", s.wrap(s.clientIngressRoutes)).Methods(get...)
	// Dynamic node metadata (http_client_meta.go); ACL: node read / write.
	r.Handle("/v1/client/metadata", s.wrap(s.clientMetaRead)).Methods(get...)
	r.Handle("/v1/client/metadata", s.wrap(s.clientMetaApply)).Methods(put...)
	r.Handle("/v1/client/allocation/{id}/gc", s.wrap(s.clientAllocGC)).Methods(append(get, put...)...)
	r.Handle("/v1/client/gc", s.wrap(s.clientGC)).Methods(append(get, put...)...)
	r.Handle("/v1/agent/self", s.wrap(s.agentSelf)).Methods(get...)
	r.Handle("/v1/agent/servers", s.wrap(s.agentServers)).Methods(get...)
	r.Handle("/v1/agent/servers", s.wrap(s.agentSetServers)).Methods(put...)
	r.Handle("/v1/agent/health", s.wrap(s.agentHealth)).Methods(get...)
	// This agent's own log, streamed (http_agent_monitor.go); ACL: agent read.
	r.Handle("/v1/agent/monitor", s.wrap(s.agentMonitor)).Methods(get...)
	r.Handle("/v1/metrics", http.HandlerFunc(s.metricsHandler)).Methods(get...)
	// Go profiler behind enable_debug (http_pprof.go); ACL: agent write.
	r.Handle("/v1/agent/pprof/{profile}", http.HandlerFunc(s.agentPprof)).Methods(get...)
	// Workload identity discovery (anonymous in Nomad too).
	r.Handle("/.well-known/jwks.json", s.wrap(s.wellKnownJWKS)).Methods(get...)
	r.Handle("/.well-known/openid-configuration", s.wrap(s.wellKnownOpenID)).Methods(get...)

	r.Handle("/", http.RedirectHandler("/ui/", http.StatusTemporaryRedirect)).Methods(get...)
	r.Handle("/ui", http.RedirectHandler("/ui/", http.StatusMovedPermanently)).Methods(get...)
	r.PathPrefix("/ui/").Handler(http.HandlerFunc(serveUI)).Methods(get...)

	r.NotFoundHandler = s.wrap(notFound)
	r.MethodNotAllowedHandler = s.wrap(methodNotAllowed)
}
