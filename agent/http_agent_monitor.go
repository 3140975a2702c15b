package agent

import (
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
	if id := q.Get("node_id"); id != "" && (s.client == nil || id != s.client.NodeID()) {
		return nil, structs.NewBadRequest("node_id=%q: this agent streams only its own log and does not forward monitor requests; send the request to that node's HTTP address without node_id", id)
	}
	if id := q.Get("server_id"); id != "" && (s.srv == nil || id != s.cfg.Agent.Name) {
		return nil, structs.NewBadRequest("server_id=%q: this agent streams only its own log and does not forward monitor requests; send the request to that server's HTTP address without server_id", id)
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
