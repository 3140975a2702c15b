package agent

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/server"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// ClusterAPI is what the HTTP API calls on a server about the cluster:
// membership, Raft peers, snapshots and the gossip keyring. *server.Server
// implements it. Methods are called concurrently from request goroutines.
type ClusterAPI interface {
	Members() []structs.AgentMember
	Join(addrs []string) (int, error)
	ForceLeave(node string, prune bool) error
	// LeaderHTTPAddr is the leader's HTTP host:port ("" when unknown).
	LeaderHTTPAddr() string
	LastContact() time.Duration
	RaftConfig() (*structs.RaftConfiguration, error)
	RemoveRaftPeer(id, address string) error
	SaveSnapshot(w io.Writer) (uint64, error)
	RestoreSnapshot(r io.Reader) error
	Keyring(op server.KeyringOp, key string) (*server.KeyringResponse, error)
}

// Leader forwarding.
const (
	// leaderForwardedHeader marks a request a follower forwarded to the
	// leader: the loop guard (a non-leader receiving one refuses it).
	leaderForwardedHeader = "X-Nomadlike-Leader-Forwarded"
	// forwardHoldTimeout is how long a follower holds a request while the
	// cluster elects a leader or the leader is unreachable (Nomad's
	// rpc_hold_timeout).
	forwardHoldTimeout = 5 * time.Second
	// forwardRetryEvery paces the leader look-ups while holding.
	forwardRetryEvery = 100 * time.Millisecond
	// forwardDeadlineHeader carries the time (RFC 3339, UTC) after which
	// the leader must refuse a forwarded request rather than apply it: a
	// request stuck in the network (a partition holds its bytes in a kept-
	// alive connection) and delivered long after its client gave up must
	// not be applied after the client's later writes. The history check
	// (e2e/cluster_history_test.go) found such a late write.
	forwardDeadlineHeader = "X-Nomadlike-Forward-Deadline"
	// forwardExpiry is how long after a follower received a request the
	// leader may still apply it: the hold plus slack for a slow network
	// and clock skew between servers.
	forwardExpiry = forwardHoldTimeout + 5*time.Second
)

// toLeader serves h here when this server leads (or the request is a
// ?stale read), and otherwise forwards the request to the leader's HTTP
// address, holding it up to forwardHoldTimeout while there is no leader.
func (s *HTTPServer) toLeader(h http.Handler) http.Handler {
	if s.cluster == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received := time.Now()
		if s.srv.IsLeader() || (r.Method == http.MethodGet && isStale(r)) {
			if forwardExpired(r, received) {
				s.writeError(w, r, &structs.CodedError{Code: http.StatusServiceUnavailable, Err: structs.ErrNotLeader,
					Msg: fmt.Sprintf("this request was forwarded to the leader but reached it after its deadline (%s after the follower received it; the network delayed it), so it was not applied; retry", forwardExpiry)})
				return
			}
			h.ServeHTTP(w, r)
			return
		}
		if r.Header.Get(leaderForwardedHeader) != "" {
			s.writeError(w, r, &structs.CodedError{Code: http.StatusServiceUnavailable, Err: structs.ErrNotLeader,
				Msg: "this server received a request forwarded to the leader but is no longer the leader (leadership just moved); retry"})
			return
		}
		var body []byte
		if r.Body != nil {
			var err error
			if body, err = io.ReadAll(r.Body); err != nil {
				s.writeError(w, r, fmt.Errorf("read the request body to forward it to the leader: %w", err))
				return
			}
		}
		deadline := time.Now().Add(forwardHoldTimeout)
		var lastErr error
		for {
			r.Body = io.NopCloser(bytes.NewReader(body))
			if s.srv.IsLeader() {
				h.ServeHTTP(w, r)
				return
			}
			addr := s.cluster.LeaderHTTPAddr()
			if addr != "" && addr != s.self() {
				markChecked(r) // the leader checks the forwarded request's permission itself
				sw := &statusWriter{ResponseWriter: w}
				dialErr := s.forwardOnce(sw, r, addr, received.Add(forwardExpiry))
				if dialErr == nil {
					return
				}
				lastErr = dialErr
			}
			if time.Now().After(deadline) {
				break
			}
			select {
			case <-r.Context().Done():
				return
			case <-time.After(forwardRetryEvery):
			}
		}
		msg := fmt.Sprintf("no cluster leader: this server has not found a reachable leader within %s; the cluster may be electing one or may have lost its quorum (check `nomadlike server members` and `nomadlike operator raft list-peers`, or read with ?stale)", forwardHoldTimeout)
		if ready, why := s.srv.Ready(); !ready && s.cluster.LeaderHTTPAddr() == s.self() {
			msg = why + fmt.Sprintf(" and did not finish within %s; retry", forwardHoldTimeout)
		}
		if lastErr != nil {
			msg += fmt.Sprintf("; last attempt: %v", lastErr)
		}
		s.writeError(w, r, &structs.CodedError{Code: http.StatusServiceUnavailable, Msg: msg, Err: structs.ErrNotLeader})
	})
}

// forwardOnce proxies r to the leader at addr. It returns an error only when
// the leader could not be reached before anything was written, so the
// caller may retry; every other outcome has been written to w.
func (s *HTTPServer) forwardOnce(w *statusWriter, r *http.Request, addr string, deadline time.Time) error {
	target, err := url.Parse(s.toServers.url(addr))
	if err != nil {
		s.writeError(w, r, fmt.Errorf("the leader gossips an invalid HTTP address %q: %w", addr, err))
		return nil
	}
	var dialErr error
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Header.Set(leaderForwardedHeader, "1")
			pr.Out.Header.Set(forwardDeadlineHeader, deadline.UTC().Format(time.RFC3339Nano))
		},
		Transport:     s.toServers.transport,
		FlushInterval: -1,
		ErrorHandler: func(rw http.ResponseWriter, req *http.Request, err error) {
			var op *net.OpError
			if errors.As(err, &op) && op.Op == "dial" && !w.wrote {
				dialErr = fmt.Errorf("leader at %s: %w", addr, err)
				return
			}
			s.writeError(rw, req, &structs.CodedError{Code: http.StatusBadGateway,
				Msg: fmt.Sprintf("forward %s %s to the leader at %s", req.Method, req.URL.Path, addr), Err: err})
		},
	}
	p.ServeHTTP(w, r)
	return dialErr
}

// forwardExpired reports whether r was forwarded by a follower with a
// deadline that passed before now.
func forwardExpired(r *http.Request, now time.Time) bool {
	v := r.Header.Get(forwardDeadlineHeader)
	if v == "" || r.Header.Get(leaderForwardedHeader) == "" {
		return false
	}
	deadline, err := time.Parse(time.RFC3339Nano, v)
	return err == nil && now.After(deadline)
}

func isStale(r *http.Request) bool {
	_, ok := r.URL.Query()["stale"]
	return ok
}

// agentJoin is PUT /v1/agent/join?address=...: {num_joined, error}.
func (s *HTTPServer) agentJoin(_ http.ResponseWriter, r *http.Request) (any, error) {
	if s.cluster == nil {
		return nil, errNoCluster()
	}
	addrs := splitList(r.URL.Query()["address"])
	if len(addrs) == 0 {
		return nil, structs.NewBadRequest("give the serf address of a server to join: ?address=host:port (serf port, default %d)", DefaultSerfPort)
	}
	n, err := s.cluster.Join(addrs)
	out := map[string]any{"num_joined": n, "error": ""}
	if err != nil {
		out["error"] = err.Error()
	}
	return out, nil
}

// agentForceLeave is PUT /v1/agent/force-leave?node=NAME[&prune=true].
func (s *HTTPServer) agentForceLeave(_ http.ResponseWriter, r *http.Request) (any, error) {
	if s.cluster == nil {
		return nil, errNoCluster()
	}
	node := r.URL.Query().Get("node")
	if node == "" {
		return nil, structs.NewBadRequest("give the member to remove: ?node=<name> (as `nomadlike server members` shows it)")
	}
	prune, err := boolParam(r, "prune")
	if err != nil {
		return nil, err
	}
	return nil, s.cluster.ForceLeave(node, prune)
}

// raftConfiguration is GET /v1/operator/raft/configuration.
func (s *HTTPServer) raftConfiguration(w http.ResponseWriter, _ *http.Request) (any, error) {
	if s.cluster == nil {
		return nil, errNoCluster()
	}
	cfg, err := s.cluster.RaftConfig()
	if err != nil {
		return nil, err
	}
	setIndex(w, cfg.Index)
	return cfg, nil
}

// raftRemovePeer is DELETE /v1/operator/raft/peer?id= (or ?address=).
func (s *HTTPServer) raftRemovePeer(_ http.ResponseWriter, r *http.Request) (any, error) {
	if s.cluster == nil {
		return nil, errNoCluster()
	}
	q := r.URL.Query()
	return nil, s.cluster.RemoveRaftPeer(q.Get("id"), q.Get("address"))
}

// snapshotSave is GET /v1/operator/snapshot: the archive as the body. The
// snapshot is written to a temporary file first, so a failure is a clean
// error status rather than a truncated body.
func (s *HTTPServer) snapshotSave(w http.ResponseWriter, r *http.Request) (any, error) {
	if s.cluster == nil {
		return nil, errNoCluster()
	}
	tmp, err := os.CreateTemp("", "nomadlike-snapshot-*")
	if err != nil {
		return nil, fmt.Errorf("snapshot: create a temporary file: %w", err)
	}
	defer func() {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
	}()
	index, err := s.cluster.SaveSnapshot(tmp)
	if err != nil {
		return nil, err
	}
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	// Digest (RFC 3230), which Nomad's client checks as it reads the body.
	sum := sha256.New()
	if _, err := io.Copy(sum, tmp); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	w.Header().Set("Digest", "sha-256="+base64.StdEncoding.EncodeToString(sum.Sum(nil)))
	setIndex(w, index)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, tmp); err != nil {
		s.logger.Warn("snapshot download ended early", "remote", r.RemoteAddr, "error", err)
	}
	return nil, errHandled
}

// snapshotRestore is PUT /v1/operator/snapshot with an archive as the body.
func (s *HTTPServer) snapshotRestore(_ http.ResponseWriter, r *http.Request) (any, error) {
	if s.cluster == nil {
		return nil, errNoCluster()
	}
	if r.Body == nil {
		return nil, structs.NewBadRequest("send the snapshot archive as the request body")
	}
	return nil, s.cluster.RestoreSnapshot(r.Body)
}

// keyringRequest is the body of PUT /v1/agent/keyring/{install,use,remove}.
type keyringRequest struct {
	Key string
}

// agentKeyring serves /v1/agent/keyring/{list,install,use,remove}.
func (s *HTTPServer) agentKeyring(op server.KeyringOp) handlerFunc {
	return func(_ http.ResponseWriter, r *http.Request) (any, error) {
		if s.cluster == nil {
			return nil, errNoCluster()
		}
		var req keyringRequest
		if op != server.KeyringList {
			if err := decodeBody(r, &req); err != nil {
				return nil, err
			}
			if _, err := GossipKey(req.Key); err != nil {
				return nil, structs.NewBadRequest("Key: %v", err)
			}
		}
		return s.cluster.Keyring(op, req.Key)
	}
}

func errNoCluster() error {
	return &structs.CodedError{Code: http.StatusNotImplemented,
		Msg: "this agent runs no server; send cluster operations to a server's HTTP address"}
}

// lastContactHeader renders a duration as X-Nomad-LastContact (milliseconds).
func lastContactHeader(d time.Duration) string {
	return strconv.FormatInt(d.Milliseconds(), 10)
}

// splitList splits "a,b" query values into their parts.
func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
