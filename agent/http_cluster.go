package agent

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
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

// leaderForwardedHeader marks a request a follower forwarded to the leader
// (server.Forward owns forwarding).
const leaderForwardedHeader = server.ForwardedHeader

// toLeader serves h here when the request is a ?stale read, and otherwise
// hands it to the server's Forward: served here by the ready leader, or
// forwarded to the leader's HTTP address through this agent's transport to
// other servers (TLS when configured).
func (s *HTTPServer) toLeader(h http.Handler) http.Handler {
	if s.cluster == nil {
		return h
	}
	fwd, ok := s.srv.(forwarder)
	if !ok {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && isStale(r) && r.Header.Get(leaderForwardedHeader) == "" {
			h.ServeHTTP(w, r)
			return
		}
		var rt http.RoundTripper = s.toServers.transport
		if s.cfg.forwardTransport != nil {
			rt = s.cfg.forwardTransport(rt)
		}
		via := server.Forwarding{Transport: rt, URL: s.toServers.url,
			// The leader checks the forwarded request's permission itself.
			BeforeSend: markChecked}
		if err := fwd.Forward(w, r, h, via); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// clockStamper answers a follower measuring this server's clock (*server.Server).
type clockStamper interface{ StampClock(w http.ResponseWriter) }

// forwarder is the server's write forwarding (*server.Server).
type forwarder interface {
	Forward(w http.ResponseWriter, r *http.Request, local http.Handler, via server.Forwarding) error
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
		return nil, structs.NewBadRequest("give the member to remove: ?node=<name> (as GET /v1/agent/members names it)")
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
