package agent

import (
	"net/http"
	"net/http/pprof"
	"strings"

	"github.com/gorilla/mux"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// agentPprof serves /v1/agent/pprof/{profile} (`nomad operator debug`,
// the official client's Agent().CPUProfile/Trace/Lookup) as Nomad does:
// when the agent runs with enable_debug = true, or with ACLs enabled (the
// route's rule then requires a token with agent:write); otherwise it is a
// 403 that says so. Parameters are Go's: seconds (profile, trace), debug
// (1: text), gc (heap: collect first).
func (s *HTTPServer) agentPprof(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.Agent.EnableDebug && !s.aclEnabled() {
		s.writeError(w, r, &structs.CodedError{Code: http.StatusForbidden,
			Msg: "the profiler is off: set enable_debug = true in the agent's config, or enable ACLs and use a token with agent:write, to serve /v1/agent/pprof/"})
		return
	}
	// The official client always sends seconds=, 0 for a snapshot profile.
	if q := r.URL.Query(); q.Get("seconds") == "0" {
		q.Del("seconds")
		r.URL.RawQuery = q.Encode()
		r.Form = nil
	}
	switch name := strings.TrimSpace(mux.Vars(r)["profile"]); name {
	case "cmdline":
		pprof.Cmdline(w, r)
	case "profile":
		pprof.Profile(w, r)
	case "trace":
		pprof.Trace(w, r)
	case "", "index":
		pprof.Index(w, r)
	default:
		pprof.Handler(name).ServeHTTP(w, r)
	}
}
