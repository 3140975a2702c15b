package agent

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"

	"github.com/gorilla/mux"

	"github.com/nomadlike/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// ruleKind is how a route's permission is decided.
type ruleKind int

const (
	// rulePublic: anyone, without a token (health, leader, the UI's files).
	rulePublic ruleKind = iota + 1
	// ruleManagement: a management token only.
	ruleManagement
	// ruleCoarse: a node, agent, operator, quota or plugin rule at a level.
	ruleCoarse
	// ruleNamespace: a namespace capability in ?namespace= (default
	// "default"). With ?namespace=* the handler lists only the namespaces
	// where the token has it (s.nsFilter).
	ruleNamespace
	// ruleObject: a namespace capability in the namespace of the object the
	// route names, found by rule.object before the handler runs.
	ruleObject
	// ruleHandler: the handler decides (with s.allowNS / s.allow) once it
	// knows the namespace (a job in the body, a token reading itself, a
	// node's own secret). A handler that replies 2xx without checking is
	// turned into a 403 (fail closed).
	ruleHandler
)

// rule is what a route requires of the request's token.
type rule struct {
	kind ruleKind
	// what is the namespace capability, or the coarse level (read, write).
	what string
	// coarse is the coarse rule kind (acl.Node, acl.Agent, ...).
	coarse string
	// object finds the namespace of the object a ruleObject route names;
	// ok is false when the object does not exist (the handler then 404s).
	object func(s *HTTPServer, r *http.Request) (ns string, ok bool, err error)
	// also, when set, is a further check of a ruleObject route (exec into a
	// task without isolation needs alloc-node-exec as well).
	also func(s *HTTPServer, r *http.Request, a *acl.ACL) (ok bool, what string)
}

func public() rule                   { return rule{kind: rulePublic} }
func management() rule               { return rule{kind: ruleManagement} }
func handlerChecks(what string) rule { return rule{kind: ruleHandler, what: what} }
func nsRule(capability string) rule  { return rule{kind: ruleNamespace, what: capability} }
func coarse(kind, level string) rule { return rule{kind: ruleCoarse, coarse: kind, what: level} }
func nodeRule(level string) rule     { return coarse(acl.Node, level) }
func agentRule(level string) rule    { return coarse(acl.Agent, level) }
func operatorRule(level string) rule { return coarse(acl.Operator, level) }
func allocRule(capability string) rule {
	return rule{kind: ruleObject, what: capability, object: allocNamespace}
}
func evalRule(capability string) rule {
	return rule{kind: ruleObject, what: capability, object: evalNamespace}
}
func deployRule(capability string) rule {
	return rule{kind: ruleObject, what: capability, object: deploymentNamespace}
}
func execRule() rule {
	return rule{kind: ruleObject, what: capExec, object: allocNamespace, also: nodeExecCheck}
}

// actionRule is execRule for GET /v1/job/{id}/action, whose allocation is
// the allocID query parameter.
func actionRule() rule {
	return rule{kind: ruleObject, what: capExec, object: actionAllocNamespace, also: actionNodeExecCheck}
}
func logsRule(capability string) rule {
	return rule{kind: ruleObject, what: capability, object: logsAllocNamespace}
}

// Namespace capabilities, shortened for the table.
const (
	capList     = acl.NamespaceCapabilityListJobs
	capRead     = acl.NamespaceCapabilityReadJob
	capParse    = acl.NamespaceCapabilityParseJob
	capSubmit   = acl.NamespaceCapabilitySubmitJob
	capDispatch = acl.NamespaceCapabilityDispatchJob
	capLogs     = acl.NamespaceCapabilityReadLogs
	capReadFS   = acl.NamespaceCapabilityReadFS
	capExec     = acl.NamespaceCapabilityAllocExec
	capLife     = acl.NamespaceCapabilityAllocLifecycle
	capScale    = acl.NamespaceCapabilityScaleJob
	capReadScal = acl.NamespaceCapabilityReadJobScaling
	capListScal = acl.NamespaceCapabilityListScalingPolicies
	capReadPol  = acl.NamespaceCapabilityReadScalingPolicy
)

// routeRules is the permission of every route, keyed by "METHOD template"
// (POST is looked up as PUT). A route missing here is refused when ACLs are
// enabled, and TestEveryRouteHasARule fails: add new endpoints here.
var routeRules = map[string]rule{
	"GET /v1/jobs":                              nsRule(capList),
	"PUT /v1/jobs":                              handlerChecks(capSubmit),
	"PUT /v1/jobs/parse":                        nsRule(capParse),
	"PUT /v1/validate/job":                      nsRule(capRead),
	"GET /v1/job/{id}":                          nsRule(capRead),
	"PUT /v1/job/{id}":                          handlerChecks(capSubmit),
	"DELETE /v1/job/{id}":                       nsRule(capSubmit),
	"GET /v1/job/{id}/allocations":              nsRule(capRead),
	"GET /v1/job/{id}/evaluations":              nsRule(capRead),
	"GET /v1/job/{id}/summary":                  nsRule(capRead),
	"GET /v1/job/{id}/versions":                 nsRule(capRead),
	"PUT /v1/job/{id}/plan":                     handlerChecks(capSubmit),
	"PUT /v1/job/{id}/revert":                   nsRule(capSubmit),
	"PUT /v1/job/{id}/stable":                   nsRule(capSubmit),
	"GET /v1/job/{id}/deployment":               nsRule(capRead),
	"GET /v1/job/{id}/deployments":              nsRule(capRead),
	"PUT /v1/job/{id}/periodic/force":           nsRule(capSubmit),
	"PUT /v1/job/{id}/dispatch":                 nsRule(capDispatch),
	"GET /v1/job/{id}/submission":               nsRule(capRead),
	"PUT /v1/job/{id}/evaluate":                 nsRule(capSubmit),
	"PUT /v1/job/{id}/versions/{tag}/tag":       nsRule(capSubmit),
	"DELETE /v1/job/{id}/versions/{tag}/tag":    nsRule(capSubmit),
	"GET /v1/job/{id}/scale":                    nsRule(capReadScal),
	"PUT /v1/job/{id}/scale":                    nsRule(capScale),
	"GET /v1/scaling/policies":                  nsRule(capListScal),
	"GET /v1/scaling/policy/{id}":               handlerChecks(capReadPol),
	"GET /v1/deployments":                       nsRule(capRead),
	"GET /v1/deployment/{id}":                   deployRule(capRead),
	"GET /v1/deployment/allocations/{id}":       deployRule(capRead),
	"PUT /v1/deployment/fail/{id}":              deployRule(capSubmit),
	"PUT /v1/deployment/pause/{id}":             deployRule(capSubmit),
	"PUT /v1/deployment/promote/{id}":           deployRule(capSubmit),
	"PUT /v1/deployment/allocation-health/{id}": deployRule(capSubmit),
	"GET /v1/allocations":                       nsRule(capRead),
	"GET /v1/allocation/{id}":                   allocRule(capRead),
	"PUT /v1/allocation/{id}/stop":              allocRule(capLife),
	"GET /v1/evaluations":                       nsRule(capRead),
	"DELETE /v1/evaluations":                    management(),
	"GET /v1/evaluations/count":                 nsRule(capRead),
	"GET /v1/evaluation/{id}":                   evalRule(capRead),
	"GET /v1/evaluation/{id}/allocations":       evalRule(capRead),

	"GET /v1/nodes":                 nodeRule(acl.PolicyRead),
	"GET /v1/node/{id}":             nodeRule(acl.PolicyRead),
	"PUT /v1/node/{id}/drain":       nodeRule(acl.PolicyWrite),
	"PUT /v1/node/{id}/eligibility": nodeRule(acl.PolicyWrite),
	// Node pools (http_node_pools.go): node_pool rules on the pool.
	"GET /v1/node/pools":             handlerChecks("lists the node pools the token may read"),
	"PUT /v1/node/pools":             handlerChecks("node_pool write on the pool"),
	"GET /v1/node/pool/{name}":       handlerChecks("node_pool read on the pool"),
	"DELETE /v1/node/pool/{name}":    handlerChecks("node_pool delete on the pool"),
	"GET /v1/node/pool/{name}/nodes": handlerChecks("node_pool read on the pool and node:read"),
	"GET /v1/node/pool/{name}/jobs":  handlerChecks("node_pool read on the pool, list-jobs in the namespace"),
	// Client-to-server endpoints: the node's own secret (checked by the
	// server, in constant time); registration also takes a token with
	// node:write (the introduction token).
	"PUT /v1/node/register":                handlerChecks("node:write or the node's own secret"),
	"GET /v1/node/{id}/allocations":        handlerChecks("node:read or the node's own secret"),
	"PUT /v1/node/{id}/allocations":        handlerChecks("the node's own secret"),
	"GET /v1/node/{id}/client-allocations": handlerChecks("the node's own secret"),
	"PUT /v1/node/{id}/client-allocations": handlerChecks("the node's own secret"),
	"PUT /v1/node/{id}/usage":              handlerChecks("the node's own secret"),
	"PUT /v1/node/{id}/heartbeat":          handlerChecks("the node's own secret"),
	"PUT /v1/node/{id}/services":           handlerChecks("the node's own secret"),
	"PUT /v1/node/{id}/identities":         handlerChecks("the node's own secret"),

	// Services: read-job in the namespace, or a node's own secret (the
	// client's DNS and ingress watch the whole catalog).
	"GET /v1/services":               handlerChecks("read-job in the namespace, or a node's own secret"),
	"GET /v1/service/{name}":         handlerChecks("read-job in the namespace, or a node's own secret"),
	"DELETE /v1/service/{name}/{id}": nsRule(capSubmit),

	"GET /v1/agent/members":         nodeRule(acl.PolicyRead),
	"PUT /v1/agent/join":            agentRule(acl.PolicyWrite),
	"PUT /v1/agent/force-leave":     agentRule(acl.PolicyWrite),
	"GET /v1/agent/keyring/list":    management(),
	"PUT /v1/agent/keyring/install": management(),
	"PUT /v1/agent/keyring/use":     management(),
	"PUT /v1/agent/keyring/remove":  management(),
	"GET /v1/agent/self":            agentRule(acl.PolicyRead),
	"GET /v1/agent/monitor":         agentRule(acl.PolicyRead),
	"GET /v1/agent/servers":         agentRule(acl.PolicyRead),
	"PUT /v1/agent/servers":         agentRule(acl.PolicyWrite),
	"GET /v1/agent/health":          public(),
	"GET /v1/status/leader":         public(),
	"GET /v1/status/peers":          public(),
	"GET /v1/regions":               public(),
	"GET /v1/metrics":               public(),

	"GET /v1/operator/raft/configuration":      operatorRule(acl.PolicyRead),
	"DELETE /v1/operator/raft/peer":            operatorRule(acl.PolicyWrite),
	"GET /v1/operator/snapshot":                management(),
	"PUT /v1/operator/snapshot":                management(),
	"GET /v1/operator/scheduler/configuration": operatorRule(acl.PolicyRead),
	"PUT /v1/operator/scheduler/configuration": operatorRule(acl.PolicyWrite),
	"PUT /v1/system/gc":                        management(),
	"PUT /v1/system/reconcile/summaries":       management(),
	"PUT /v1/search":                           handlerChecks("read-job in the namespace, node:read for nodes"),
	"PUT /v1/search/fuzzy":                     handlerChecks("read-job in the namespace, node:read for nodes"),
	"GET /v1/event/stream":                     nsRule(capRead),

	"GET /v1/client/fs/logs/{alloc}":           logsRule(capLogs),
	"GET /v1/client/fs/ls/{id}":                allocRule(capReadFS),
	"GET /v1/client/fs/stat/{id}":              allocRule(capReadFS),
	"GET /v1/client/fs/cat/{id}":               allocRule(capReadFS),
	"GET /v1/client/fs/readat/{id}":            allocRule(capReadFS),
	"GET /v1/client/fs/stream/{id}":            allocRule(capReadFS),
	"PUT /v1/node/{id}/purge":                  nodeRule(acl.PolicyWrite),
	"GET /v1/agent/pprof/{profile}":            agentRule(acl.PolicyWrite),
	"GET /v1/agent/schedulers":                 agentRule(acl.PolicyRead),
	"GET /v1/operator/autopilot/configuration": operatorRule(acl.PolicyRead),
	"PUT /v1/operator/autopilot/configuration": operatorRule(acl.PolicyWrite),
	"GET /v1/operator/autopilot/health":        operatorRule(acl.PolicyRead),
	// Workload identity keys are public, as Nomad's.
	"GET /.well-known/jwks.json":             public(),
	"GET /.well-known/openid-configuration":  public(),
	"GET /v1/client/allocation/{id}/stats":   allocRule(capRead),
	"GET /v1/client/allocation/{id}/checks":  allocRule(capRead),
	"PUT /v1/client/allocation/{id}/restart": allocRule(capLife),
	"PUT /v1/client/allocation/{id}/signal":  allocRule(capLife),
	"GET /v1/client/allocation/{id}/exec":    execRule(),
	"GET /v1/job/{id}/action":                actionRule(),
	"GET /v1/client/stats":                   nodeRule(acl.PolicyRead),
	"GET /v1/client/ingress/routes":          nodeRule(acl.PolicyRead), // and read-job per instance's namespace
	"GET /v1/client/metadata":                nodeRule(acl.PolicyRead),
	"PUT /v1/client/metadata":                nodeRule(acl.PolicyWrite),
	"GET /v1/client/allocation/{id}/gc":      allocRule(capLife),
	"PUT /v1/client/allocation/{id}/gc":      allocRule(capLife),
	"GET /v1/client/gc":                      nodeRule(acl.PolicyWrite),
	"PUT /v1/client/gc":                      nodeRule(acl.PolicyWrite),

	"GET /":    public(),
	"GET /ui":  public(),
	"GET /ui/": public(),

	// The ACL system and namespaces (http_acl.go, http_namespaces.go).
	"PUT /v1/acl/bootstrap":        public(),
	"GET /v1/acl/policies":         handlerChecks("management, or lists the token's own policies"),
	"GET /v1/acl/policy/{name}":    handlerChecks("management, or a policy of the token"),
	"PUT /v1/acl/policy/{name}":    management(),
	"DELETE /v1/acl/policy/{name}": management(),
	"GET /v1/acl/tokens":           management(),
	"PUT /v1/acl/token":            management(),
	"GET /v1/acl/token/self":       handlerChecks("a valid token"),
	"GET /v1/acl/token/{id}":       handlerChecks("management, or the token itself"),
	"PUT /v1/acl/token/{id}":       management(),
	"DELETE /v1/acl/token/{id}":    management(),
	"GET /v1/acl/roles":            handlerChecks("management, or lists the token's own roles"),
	"PUT /v1/acl/role":             management(),
	"GET /v1/acl/role/{id}":        handlerChecks("management, or a role of the token"),
	"GET /v1/acl/role/name/{name}": handlerChecks("management, or a role of the token"),
	"PUT /v1/acl/role/{id}":        management(),
	"DELETE /v1/acl/role/{id}":     management(),
	"GET /v1/namespaces":           handlerChecks("lists the namespaces the token has any capability in"),
	"GET /v1/namespace/{name}":     handlerChecks("any capability in the namespace"),
	"PUT /v1/namespace":            management(),
	"PUT /v1/namespace/{name}":     management(),
	"DELETE /v1/namespace/{name}":  management(),

	// The keyring and variables (http_variables.go).
	"GET /v1/operator/keyring/keys":        management(),
	"PUT /v1/operator/keyring/rotate":      management(),
	"DELETE /v1/operator/keyring/key/{id}": management(),
	"GET /v1/vars":                         handlerChecks("variables list, per path"),
	"GET /v1/var/{path}":                   handlerChecks("variables read on the path"),
	"PUT /v1/var/{path}":                   handlerChecks("variables write on the path"),
	"DELETE /v1/var/{path}":                handlerChecks("variables destroy on the path"),
}

// varPattern matches a path variable with a pattern, "{id:.+}".
var varPattern = regexp.MustCompile(`\{(\w+):[^}]*\}`)

// routeKey is a route's key in routeRules: POST is PUT, and variable
// patterns are dropped ("{id:.+}" is "{id}").
func routeKey(method, template string) string {
	if method == http.MethodPost {
		method = http.MethodPut
	}
	if strings.IndexByte(template, ':') >= 0 {
		template = varPattern.ReplaceAllString(template, "{$1}")
	}
	return method + " " + template
}

// authzState is a request's authorization record: whether a ruleHandler
// handler has checked, so an unchecked 2xx is refused.
type authzState struct {
	rule    rule
	checked bool
}

type authzKey struct{}

func authzOf(r *http.Request) *authzState {
	if rs := stateOf(r); rs != nil {
		if rs.hasAuthz {
			return &rs.authz
		}
		return nil
	}
	st, _ := r.Context().Value(authzKey{}).(*authzState)
	return st
}

// withAuthz returns r with st as its permission check (authzOf): in its
// requestState when it has one, else in a copy of r.
func withAuthz(r *http.Request, ru rule) (*http.Request, *authzState) {
	if rs := stateOf(r); rs != nil {
		rs.authz, rs.hasAuthz = authzState{rule: ru}, true
		return r, &rs.authz
	}
	st := &authzState{rule: ru}
	return r.WithContext(context.WithValue(r.Context(), authzKey{}, st)), st
}

// markChecked records that the handler decided the request's permission.
func markChecked(r *http.Request) {
	if st := authzOf(r); st != nil {
		st.checked = true
	}
}

// aclEnabled reports whether ACLs are enforced.
func (s *HTTPServer) aclEnabled() bool { return s.cfg.Agent != nil && s.cfg.Agent.ACL.Enabled }

// authorize is the router middleware that enforces routeRules.
func (s *HTTPServer) authorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.aclEnabled() {
			next.ServeHTTP(w, r)
			return
		}
		label := ""
		if st := stateOf(r); st != nil {
			label = st.route
		}
		key := routeKey(r.Method, label)
		if s.srv == nil && s.serverRoutes[key] {
			next.ServeHTTP(w, r) // proxied to a server, which enforces
			return
		}
		ru, ok := routeRules[key]
		if !ok {
			s.deny(w, r, "a rule for "+key, &structs.CodedError{Code: http.StatusForbidden, Err: structs.ErrPermissionDenied,
				Msg: fmt.Sprintf("Permission denied: %s has no ACL rule (a bug: add it to routeRules)", key)})
			return
		}
		id := identity(r)
		if id.NotACLToken && ru.kind != rulePublic && ru.kind != ruleHandler {
			s.deny(w, r, describeRule(ru, requestNamespace(r)), errTokenNotFound)
			return
		}
		switch ru.kind {
		case rulePublic:
		case ruleManagement:
			if !id.ACL.IsManagement() {
				s.deny(w, r, "management", nil)
				return
			}
		case ruleCoarse:
			if !id.ACL.Allow(ru.coarse, ru.what) {
				s.deny(w, r, describeRule(ru, ""), nil)
				return
			}
		case ruleNamespace:
			namespace := requestNamespace(r)
			if namespace == "*" {
				// The handler lists only what the token may read.
				var st *authzState
				r, st = withAuthz(r, ru)
				w = &authzWriter{ResponseWriter: w, st: st, s: s, r: r}
				break
			}
			if !id.ACL.AllowNamespaceOp(namespace, ru.what) {
				s.deny(w, r, describeRule(ru, namespace), nil)
				return
			}
		case ruleObject:
			namespace, found, err := ru.object(s, r)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			if found && !id.ACL.AllowNamespaceOp(namespace, ru.what) {
				s.deny(w, r, describeRule(ru, namespace), nil)
				return
			}
			if found && ru.also != nil {
				if ok, what := ru.also(s, r, id.ACL); !ok {
					s.deny(w, r, what, nil)
					return
				}
			}
			if !found && !id.ACL.IsManagement() && !id.ACL.AllowNamespace(requestNamespace(r)) {
				// Unknown objects: a 404 only for tokens that may read somewhere.
				s.deny(w, r, describeRule(ru, requestNamespace(r)), nil)
				return
			}
		case ruleHandler:
			var st *authzState
			r, st = withAuthz(r, ru)
			w = &authzWriter{ResponseWriter: w, st: st, s: s, r: r}
		}
		next.ServeHTTP(w, r)
	})
}

// requestNamespace is ?namespace=, "default" when absent.
func requestNamespace(r *http.Request) string {
	if ns := r.URL.Query().Get("namespace"); ns != "" {
		return ns
	}
	return structs.DefaultNamespace
}

func describeRule(ru rule, namespace string) string {
	switch ru.kind {
	case ruleCoarse:
		return fmt.Sprintf("%s:%s", ru.coarse, ru.what)
	case ruleNamespace, ruleObject:
		return fmt.Sprintf("%s in namespace %q", ru.what, namespace)
	case ruleManagement:
		return "management"
	}
	return ru.what
}

// deny refuses the request with 403 and writes the audit record: who (token
// accessor, remote address) and what (method, path, capability).
func (s *HTTPServer) deny(w http.ResponseWriter, r *http.Request, what string, err error) {
	id := identity(r)
	s.audit.Warn("request denied", "accessor", id.accessor(), "remote", r.RemoteAddr,
		"method", r.Method, "path", r.URL.Path, "capability", what)
	if err == nil {
		err = permissionDenied(id, what)
	}
	s.writeError(w, r, err)
}

func permissionDenied(id *Identity, what string) error {
	who := "the anonymous policy"
	switch {
	case id.ACLToken != nil:
		who = "token " + structs.ShortID(id.ACLToken.AccessorID)
	case id.Workload != nil:
		who = fmt.Sprintf("the workload identity of task %q of job %q (namespace %q; it reads %s/%s[/<group>[/<task>]])",
			id.Workload.Task, id.Workload.JobID, id.Workload.Namespace, structs.VariableJobsPrefix, id.Workload.JobID)
	}
	return &structs.CodedError{Code: http.StatusForbidden, Msg: fmt.Sprintf("Permission denied: %s does not allow %s", who, what), Err: structs.ErrPermissionDenied}
}

// allowNS is a handler's check of capability c in namespace ns; the
// refusal (an error for the handler to return) is audited.
func (s *HTTPServer) allowNS(r *http.Request, ns, c string) error {
	markChecked(r)
	id := identity(r)
	if !s.aclEnabled() || id.ACL.AllowNamespaceOp(ns, c) {
		return nil
	}
	what := fmt.Sprintf("%s in namespace %q", c, ns)
	s.audit.Warn("request denied", "accessor", id.accessor(), "remote", r.RemoteAddr,
		"method", r.Method, "path", r.URL.Path, "capability", what)
	return permissionDenied(id, what)
}

// allow is a handler's check of an arbitrary condition, audited as what.
func (s *HTTPServer) allow(r *http.Request, ok bool, what string) error {
	markChecked(r)
	if !s.aclEnabled() || ok {
		return nil
	}
	id := identity(r)
	s.audit.Warn("request denied", "accessor", id.accessor(), "remote", r.RemoteAddr,
		"method", r.Method, "path", r.URL.Path, "capability", what)
	if id.NotACLToken {
		return errTokenNotFound
	}
	return permissionDenied(id, what)
}

// nsFilter returns whether the request may see objects of a namespace with
// the route's capability: lists with ?namespace=* keep only those.
func (s *HTTPServer) nsFilter(r *http.Request, c string) func(ns string) bool {
	markChecked(r)
	if !s.aclEnabled() {
		return func(string) bool { return true }
	}
	a := identity(r).ACL
	return func(ns string) bool { return a.AllowNamespaceOp(ns, c) }
}

// authzWriter refuses a 2xx reply of a handler that was to check the
// permission itself and did not (fail closed).
type authzWriter struct {
	http.ResponseWriter
	st     *authzState
	s      *HTTPServer
	r      *http.Request
	denied bool
}

func (w *authzWriter) ok() bool {
	if w.st.checked {
		return true
	}
	if !w.denied {
		w.denied = true
		w.s.logger.Error("handler replied without checking its ACL rule (a bug); refused", "method", w.r.Method, "path", w.r.URL.Path)
		w.s.deny(w.ResponseWriter, w.r, describeRule(w.st.rule, requestNamespace(w.r)), nil)
	}
	return false
}

func (w *authzWriter) WriteHeader(code int) {
	if code < 300 && !w.ok() {
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *authzWriter) Write(b []byte) (int, error) {
	if !w.ok() {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// Flush implements http.Flusher for streaming endpoints.
func (w *authzWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok && w.st.checked {
		f.Flush()
	}
}

// Unwrap returns the underlying writer (for http.ResponseController).
func (w *authzWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack implements http.Hijacker for websockets, only once checked.
func (w *authzWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !w.st.checked {
		return nil, nil, fmt.Errorf("permission not checked before upgrading %s", w.r.URL.Path)
	}
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, fmt.Errorf("the connection of %s cannot be hijacked", w.r.URL.Path)
	}
	return h.Hijack()
}

// Object lookups for ruleObject routes.

func allocNamespace(s *HTTPServer, r *http.Request) (string, bool, error) {
	return s.allocNS(mux.Vars(r)["id"])
}

func actionAllocNamespace(s *HTTPServer, r *http.Request) (string, bool, error) {
	return s.allocNS(r.URL.Query().Get("allocID"))
}

func logsAllocNamespace(s *HTTPServer, r *http.Request) (string, bool, error) {
	return s.allocNS(mux.Vars(r)["alloc"])
}

// allocNS finds an allocation's namespace (see lookupAlloc).
func (s *HTTPServer) allocNS(id string) (string, bool, error) {
	a, err := s.lookupAlloc(id)
	if err != nil || a == nil {
		return "", false, err
	}
	return a.Namespace, true, nil
}

// lookupAlloc finds an allocation in the server's state, or on a
// client-only agent among the local client's allocations; nil if unknown.
func (s *HTTPServer) lookupAlloc(id string) (*structs.Allocation, error) {
	if s.srv != nil {
		return readState(s, func(st *state.Snapshot) (*structs.Allocation, error) { return st.AllocByID(nil, id) })
	}
	if c, ok := s.client.(localAllocs); ok {
		return c.LocalAlloc(id), nil
	}
	return nil, nil
}

// localAllocs is implemented by a client that can return an allocation it
// runs (*client.Client).
type localAllocs interface {
	LocalAlloc(allocID string) *structs.Allocation
}

// noIsolation are the drivers whose tasks run on the host itself: exec into
// them is exec on the node, which needs alloc-node-exec (as Nomad's raw_exec).
var noIsolation = map[string]bool{"raw_exec": true}

// nodeExecCheck requires alloc-node-exec to exec into a task of a driver
// without isolation.
func nodeExecCheck(s *HTTPServer, r *http.Request, a *acl.ACL) (bool, string) {
	return s.nodeExecCheckOf(mux.Vars(r)["id"], r, a)
}

// actionNodeExecCheck is nodeExecCheck for the allocID of an action request.
func actionNodeExecCheck(s *HTTPServer, r *http.Request, a *acl.ACL) (bool, string) {
	return s.nodeExecCheckOf(r.URL.Query().Get("allocID"), r, a)
}

func (s *HTTPServer) nodeExecCheckOf(allocID string, r *http.Request, a *acl.ACL) (bool, string) {
	alloc, err := s.lookupAlloc(allocID)
	if err != nil || alloc == nil || alloc.Job == nil {
		return true, ""
	}
	tg := alloc.Job.LookupTaskGroup(alloc.TaskGroup)
	if tg == nil {
		return true, ""
	}
	tasks := tg.Tasks
	if name := r.URL.Query().Get("task"); name != "" {
		if t := tg.LookupTask(name); t != nil {
			tasks = []*structs.Task{t}
		}
	}
	for _, t := range tasks {
		if noIsolation[t.Driver] && !a.AllowNamespaceOp(alloc.Namespace, acl.NamespaceCapabilityAllocNodeExec) {
			return false, fmt.Sprintf("%s in namespace %q (task %q runs on the node itself: driver %s)", acl.NamespaceCapabilityAllocNodeExec, alloc.Namespace, t.Name, t.Driver)
		}
	}
	return true, ""
}

func evalNamespace(s *HTTPServer, r *http.Request) (string, bool, error) {
	if s.srv == nil {
		return "", false, nil
	}
	e, err := readState(s, func(st *state.Snapshot) (*structs.Evaluation, error) { return st.EvalByID(nil, mux.Vars(r)["id"]) })
	if err != nil || e == nil {
		return "", false, err
	}
	return e.Namespace, true, nil
}

func deploymentNamespace(s *HTTPServer, r *http.Request) (string, bool, error) {
	if s.srv == nil {
		return "", false, nil
	}
	d, err := readState(s, func(st *state.Snapshot) (*structs.Deployment, error) {
		return st.DeploymentByID(nil, mux.Vars(r)["id"])
	})
	if err != nil || d == nil {
		return "", false, err
	}
	return d.Namespace, true, nil
}

// keepNamespaces returns the items whose namespace keep accepts (a list
// with ?namespace=* shows only the namespaces the token may read). The
// input, which may be shared with the state store, is not changed.
func keepNamespaces[T any](items []T, namespace func(T) string, keep func(string) bool) []T {
	out := make([]T, 0, len(items))
	for _, it := range items {
		if keep(namespace(it)) {
			out = append(out, it)
		}
	}
	return out
}
