package clienttest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Server implements the client-to-server endpoints over in-memory maps:
//
//	PUT /v1/node/register            store the node, reply with HeartbeatTTL
//	PUT /v1/node/{id}/heartbeat      404 for an unknown node, 403 for a wrong secret
//	GET /v1/node/{id}/allocations    blocking query (?index=&wait=), X-Nomad-Index
//	PUT /v1/node/{id}/allocations    record the client's status of allocations
//
// Every write bumps one index and wakes blocked queries.
type Server struct {
	// TTL is returned to registrations and heartbeats.
	TTL time.Duration
	srv *httptest.Server

	mu         sync.Mutex
	index      uint64
	changed    chan struct{} // closed and replaced on every write
	nodes      map[string]*structs.Node
	allocs     map[string]*structs.Allocation
	heartbeats map[string]int
	registers  map[string]int
}

// NewServer starts a server on a free loopback port; it is closed with t.
func NewServer(t testing.TB, ttl time.Duration) *Server {
	s := &Server{TTL: ttl, index: 1, changed: make(chan struct{}), nodes: map[string]*structs.Node{},
		allocs: map[string]*structs.Allocation{}, heartbeats: map[string]int{}, registers: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /v1/node/register", s.register)
	mux.HandleFunc("PUT /v1/node/{id}/heartbeat", s.heartbeat)
	mux.HandleFunc("GET /v1/node/{id}/allocations", s.nodeAllocs)
	mux.HandleFunc("PUT /v1/node/{id}/allocations", s.updateAllocs)
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the server's base URL.
func (s *Server) URL() string { return s.srv.URL }

// bump must be called with mu held.
func (s *Server) bump() uint64 {
	s.index++
	close(s.changed)
	s.changed = make(chan struct{})
	return s.index
}

func writeJSON(w http.ResponseWriter, index uint64, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Nomad-Index", strconv.FormatUint(index, 10))
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	var req structs.NodeRegisterRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Node == nil {
		http.Error(w, "decode node registration: body must be {\"Node\": {...}}", http.StatusBadRequest)
		return
	}
	if err := req.Node.Validate(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.nodes[req.Node.ID]; ok && !structs.SecretsEqual(old.SecretID, req.Node.SecretID) {
		http.Error(w, "node secret does not match", http.StatusForbidden)
		return
	}
	n := req.Node.Copy()
	n.Status = structs.NodeStatusReady
	s.nodes[n.ID] = n
	s.registers[n.ID]++
	idx := s.bump()
	writeJSON(w, idx, &structs.NodeUpdateResponse{HeartbeatTTL: s.TTL, Index: idx})
}

// auth returns the node for the request's id, writing the error reply when
// it is unknown (404) or the token is not its secret (403).
func (s *Server) auth(w http.ResponseWriter, r *http.Request) *structs.Node {
	n, ok := s.nodes[r.PathValue("id")]
	if !ok {
		http.Error(w, "node "+r.PathValue("id")+" not found", http.StatusNotFound)
		return nil
	}
	if !structs.SecretsEqual(r.Header.Get("X-Nomad-Token"), n.SecretID) {
		http.Error(w, "permission denied: token is not the node's secret", http.StatusForbidden)
		return nil
	}
	return n
}

func (s *Server) heartbeat(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.auth(w, r)
	if n == nil {
		return
	}
	s.heartbeats[n.ID]++
	writeJSON(w, s.index, &structs.NodeUpdateResponse{HeartbeatTTL: s.TTL, Index: s.index})
}

func (s *Server) nodeAllocs(w http.ResponseWriter, r *http.Request) {
	minIndex, _ := strconv.ParseUint(r.URL.Query().Get("index"), 10, 64)
	wait := 5 * time.Minute
	if ws := r.URL.Query().Get("wait"); ws != "" {
		if d, err := time.ParseDuration(ws); err == nil {
			wait = d
		}
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		s.mu.Lock()
		n := s.auth(w, r)
		if n == nil {
			s.mu.Unlock()
			return
		}
		if s.index > minIndex {
			var out []*structs.Allocation
			for _, a := range s.allocs {
				if a.NodeID == n.ID {
					out = append(out, a.Copy())
				}
			}
			idx := s.index
			s.mu.Unlock()
			writeJSON(w, idx, out)
			return
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-timer.C:
			minIndex = 0
		case <-r.Context().Done():
			return
		}
	}
}

func (s *Server) updateAllocs(w http.ResponseWriter, r *http.Request) {
	var req structs.NodeAllocUpdateRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, "decode allocation update: "+err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.auth(w, r) == nil {
		return
	}
	for _, u := range req.Allocs {
		a, ok := s.allocs[u.ID]
		if !ok {
			continue
		}
		a = a.Copy()
		a.ClientStatus, a.ClientDescription, a.TaskStates = u.ClientStatus, u.ClientDescription, u.TaskStates
		a.ModifyIndex = s.index + 1
		s.allocs[a.ID] = a
	}
	writeJSON(w, s.bump(), &structs.GenericResponse{Index: s.index})
}

// AddAlloc places a copy of a (NodeID set) with fresh indexes.
func (s *Server) AddAlloc(a *structs.Allocation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a = a.Copy()
	idx := s.bump()
	a.CreateIndex, a.ModifyIndex, a.AllocModifyIndex = idx, idx, idx
	if a.DesiredStatus == "" {
		a.DesiredStatus = structs.AllocDesiredStatusRun
	}
	if a.ClientStatus == "" {
		a.ClientStatus = structs.AllocClientStatusPending
	}
	s.allocs[a.ID] = a
}

// StopAlloc sets an allocation's desired status to stop.
func (s *Server) StopAlloc(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.allocs[id]
	if !ok {
		return
	}
	a = a.Copy()
	idx := s.bump()
	a.DesiredStatus, a.DesiredDescription = structs.AllocDesiredStatusStop, "alloc is being stopped by a test"
	a.ModifyIndex, a.AllocModifyIndex = idx, idx
	s.allocs[id] = a
}

// Alloc returns a copy of an allocation as the server holds it, or nil.
func (s *Server) Alloc(id string) *structs.Allocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.allocs[id].Copy()
}

// Node returns a copy of a registered node, or nil.
func (s *Server) Node(id string) *structs.Node {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nodes[id].Copy()
}

// ForgetNode drops a node, as a server that lost it would (heartbeats get 404).
func (s *Server) ForgetNode(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.nodes, id)
	s.bump()
}

// Heartbeats returns how many heartbeats the node sent.
func (s *Server) Heartbeats(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.heartbeats[id]
}

// Registrations returns how many times the node registered.
func (s *Server) Registrations(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.registers[id]
}

// WaitFor polls cond until it holds or timeout passes, then fails t with what.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
