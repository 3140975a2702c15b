package agent

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// monitorHeartbeat is how often an idle monitor stream sends an empty
// frame (which the official client skips) and reports dropped lines.
const monitorHeartbeat = 10 * time.Second

// monitorLevels maps Nomad's log_level values to slog levels (trace is
// below debug; nothing logs at it today).
var monitorLevels = map[string]slog.Level{
	"trace": slog.LevelDebug - 4,
	"debug": slog.LevelDebug,
	"info":  slog.LevelInfo,
	"warn":  slog.LevelWarn,
	"error": slog.LevelError,
}

// agentMonitor is GET /v1/agent/monitor?log_level=&log_json=&plain=: this
// agent's log lines as they are logged, as StreamFrames (base64 Data) or,
// with plain=true, as raw text, until the caller goes away.
func (s *HTTPServer) agentMonitor(w http.ResponseWriter, r *http.Request) (any, error) {
	q := r.URL.Query()
	name := strings.ToLower(q.Get("log_level"))
	if name == "" {
		name = "info"
	}
	level, ok := monitorLevels[name]
	if !ok {
		return nil, structs.NewBadRequest("log_level=%q is not a log level: use trace, debug, info, warn or error", q.Get("log_level"))
	}
	asJSON, err := boolParam(r, "log_json")
	if err != nil {
		return nil, err
	}
	plain, err := boolParam(r, "plain")
	if err != nil {
		return nil, err
	}
	if forwarded, err := s.routeMonitor(w, r); forwarded || err != nil {
		return nil, err
	}
	if s.cfg.logs == nil {
		return nil, notSupported("streaming the agent's log")
	}
	sub, cancel := s.cfg.logs.subscribe(level, asJSON)
	defer cancel()
	err = s.streamFrames(w, r, plain, func(emit func(*api.StreamFrame) error) error {
		// Send the headers now: the official client waits for them.
		if err := emit(&api.StreamFrame{}); err != nil {
			return err
		}
		tick := time.NewTicker(monitorHeartbeat)
		defer tick.Stop()
		for {
			var data []byte
			select {
			case <-r.Context().Done():
				return nil
			case <-tick.C:
			case line := <-sub.ch:
				data = line
			}
			// Lines waiting now go in the same frame.
			for more := true; more && len(data) < 64<<10; {
				select {
				case line := <-sub.ch:
					data = append(data, line...)
				default:
					more = false
				}
			}
			if note := sub.droppedNote(); note != nil {
				data = append(note, data...)
			}
			if err := emit(&api.StreamFrame{Data: data}); err != nil {
				return err
			}
		}
	})
	if err != nil {
		s.logger.Debug("monitor stream ended", "error", err)
	}
	return nil, errHandled
}

// ServerLocator finds a server of the cluster by the name a request gives
// it; *server.Server implements it (an optional capability of ServerAPI).
type ServerLocator interface {
	ServerHTTPAddrByName(name string) (addr string, self, ok bool)
}

// routeMonitor sends a monitor request for another agent there, as Nomad
// does: ?node_id= to that node's client agent (through a server when this
// agent runs none), ?server_id= ("leader", a member name or a node name) to
// that server. The stream passes through unchanged, and the agent it lands
// on checks the token again. It reports whether it forwarded the request
// (or wrote its error); false means this agent serves it.
func (s *HTTPServer) routeMonitor(w http.ResponseWriter, r *http.Request) (bool, error) {
	nodeID, serverID := r.URL.Query().Get("node_id"), r.URL.Query().Get("server_id")
	switch {
	case nodeID != "" && serverID != "":
		return false, structs.NewBadRequest("node_id and server_id both given: a monitor streams one agent's log; give one of them")
	case nodeID != "" && s.client != nil && nodeID == s.client.NodeID():
		return false, nil
	case nodeID != "" && s.srv == nil:
		// A client-only agent: its servers know where the node is.
		s.needServer(nil).ServeHTTP(w, r)
		return true, nil
	case nodeID != "":
		s.routeToNode(w, r, nodeID, "the agent log")
		return true, nil
	case serverID == "":
		return false, nil
	case s.srv == nil:
		s.needServer(nil).ServeHTTP(w, r)
		return true, nil
	}
	loc, ok := s.srv.(ServerLocator)
	if !ok {
		return false, notSupported("server_id on /v1/agent/monitor")
	}
	addr, self, found := loc.ServerHTTPAddrByName(serverID)
	switch {
	case !found:
		return false, structs.NewNotFound("server_id=%q: no alive server has that name; use \"leader\" or a name GET /v1/agent/members lists", serverID)
	case self:
		return false, nil
	case r.Header.Get(forwardedHeader) != "":
		return false, &structs.CodedError{Code: http.StatusServiceUnavailable,
			Msg: fmt.Sprintf("server_id=%q was forwarded here but names the server at %s; the cluster's membership is changing, retry", serverID, addr)}
	}
	s.proxyVia(s.toServers, w, r, addr, fmt.Sprintf("server %q", serverID))
	return true, nil
}
