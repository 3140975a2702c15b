package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"github.com/hashicorp/serf/serf"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Cluster formation and membership.
//
//	serf LAN pool (port 4648)   who is out there: tags carry the Raft and HTTP
//	                            addresses, region and bootstrap_expect
//	maybeBootstrap              once bootstrap_expect servers are alive and none
//	                            of them has a Raft configuration, every one of
//	                            them bootstraps the same configuration
//	reconcile (leader only)     alive servers become voters; left and pruned
//	                            ones, and failed ones after DeadServerThreshold,
//	                            are removed
//
// A server with existing Raft state never bootstraps again, and a server
// that finds a peer already in a cluster waits for the leader to add it.

// bootstrapCheckInterval is how often a server not yet in a cluster
// re-checks whether it may bootstrap.
const bootstrapCheckInterval = 2 * time.Second

// runSerfEvents consumes serf events until ctx ends: it re-checks the
// bootstrap condition and nudges the leader's reconciler.
func (s *Server) runSerfEvents(ctx context.Context, events <-chan serf.Event) {
	tick := time.NewTicker(bootstrapCheckInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-events:
			if me, ok := e.(serf.MemberEvent); ok {
				for _, m := range me.Members {
					if sm, isServer := parseServer(m); isServer {
						s.logger.Info("server membership changed", "event", me.EventType().String(), "member", m.Name, "status", m.Status.String())
						if me.EventType() == serf.EventMemberReap && sm.id != "" {
							s.reaped.add(raft.ServerID(sm.id))
						}
					}
				}
				s.triggerReconcile()
			}
		case <-tick.C:
		}
		s.maybeBootstrap(ctx)
	}
}

// triggerReconcile asks the leader's reconciler to run now.
func (s *Server) triggerReconcile() {
	select {
	case s.reconcileCh <- struct{}{}:
	default:
	}
}

// maybeBootstrap bootstraps Raft when bootstrap_expect servers are alive
// in the pool and none of them is already in a cluster.
func (s *Server) maybeBootstrap(ctx context.Context) {
	if s.cfg.BootstrapExpect <= 1 || s.bootstrapped.Load() {
		return
	}
	var servers []serverMember
	for _, m := range s.servers() {
		if m.status != serf.StatusAlive {
			continue
		}
		if m.expect != 0 && m.expect != s.cfg.BootstrapExpect {
			s.logger.Error("servers disagree on bootstrap_expect; not bootstrapping (set the same value on every server)",
				"member", m.name, "its_bootstrap_expect", m.expect, "ours", s.cfg.BootstrapExpect)
			return
		}
		servers = append(servers, m)
	}
	if len(servers) < s.cfg.BootstrapExpect {
		return
	}
	// A peer already in a cluster means one exists: wait to be added.
	for _, m := range servers {
		if m.id == s.raftID {
			continue
		}
		peers, err := s.fetchPeers(ctx, m.httpAddr)
		if err != nil {
			s.logger.Warn("bootstrap check: cannot ask a server for its Raft peers; will retry", "member", m.name, "http_addr", m.httpAddr, "error", err)
			return
		}
		if len(peers) > 0 {
			s.logger.Info("not bootstrapping: a server is already in a cluster; waiting for its leader to add this server",
				"member", m.name, "its_peers", peers)
			s.bootstrapped.Store(true)
			return
		}
	}
	conf := raft.Configuration{}
	for _, m := range servers {
		conf.Servers = append(conf.Servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(m.id), Address: raft.ServerAddress(m.raftAddr)})
	}
	sort.Slice(conf.Servers, func(i, j int) bool { return conf.Servers[i].ID < conf.Servers[j].ID })
	if err := s.raft.BootstrapCluster(conf).Error(); err != nil {
		s.logger.Warn("bootstrap refused (this server already has Raft state)", "error", err)
		s.bootstrapped.Store(true)
		return
	}
	s.bootstrapped.Store(true)
	s.logger.Info("bootstrapped the cluster", "bootstrap_expect", s.cfg.BootstrapExpect, "servers", conf.Servers)
}

// fetchPeers asks the server at httpAddr for GET /v1/status/peers.
func (s *Server) fetchPeers(ctx context.Context, httpAddr string) ([]string, error) {
	if httpAddr == "" {
		return nil, fmt.Errorf("the member gossips no http_addr tag")
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.peerURL(httpAddr)+"/v1/status/peers?stale", nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.peerHTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /v1/status/peers: %s", resp.Status)
	}
	var peers []string
	if err := json.NewDecoder(resp.Body).Decode(&peers); err != nil {
		return nil, fmt.Errorf("decode /v1/status/peers: %w", err)
	}
	return peers, nil
}

// runReconcile keeps Raft's voters in line with the serf pool while this
// server leads.
func (s *Server) runReconcile(ctx context.Context) {
	tick := time.NewTicker(reconcileInterval)
	defer tick.Stop()
	failedSince := map[raft.ServerID]time.Time{}
	for {
		s.reconcile(failedSince, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-s.reconcileCh:
		}
	}
}

// reconcile adds alive servers as voters and removes departed ones.
// failedSince remembers since when each voter has been failed or missing.
func (s *Server) reconcile(failedSince map[raft.ServerID]time.Time, now time.Time) {
	if s.serf == nil || !s.IsLeader() {
		return
	}
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		s.logger.Warn("reconcile: read the Raft configuration", "error", err)
		return
	}
	voters := map[raft.ServerID]raft.Server{}
	for _, srv := range f.Configuration().Servers {
		voters[srv.ID] = srv
	}
	members := map[raft.ServerID]serverMember{}
	for _, m := range s.servers() {
		if m.id != "" {
			members[raft.ServerID(m.id)] = m
		}
	}
	// Add alive servers, or fix their address.
	for id, m := range members {
		if m.status != serf.StatusAlive || m.raftAddr == "" {
			continue
		}
		if v, ok := voters[id]; ok && string(v.Address) == m.raftAddr {
			continue
		}
		s.logger.Info("adding server to Raft as a voter", "id", id, "raft_addr", m.raftAddr)
		if err := s.raft.AddVoter(id, raft.ServerAddress(m.raftAddr), 0, raftApplyTimeout).Error(); err != nil {
			s.logger.Error("could not add server to Raft", "id", id, "error", err)
		}
	}
	alive := 0
	for id := range voters {
		if m, ok := members[id]; (ok && m.status == serf.StatusAlive) || string(id) == s.raftID {
			alive++
			delete(failedSince, id)
		}
	}
	for id := range voters {
		if string(id) == s.raftID {
			continue
		}
		m, known := members[id]
		reason := ""
		switch {
		case known && m.status == serf.StatusAlive:
			s.reaped.remove(id)
			continue
		case known && m.status == serf.StatusLeft:
			reason = "it left the cluster"
		case !known && s.reaped.has(id):
			reason = "it was pruned from the serf pool (force-leave -prune)"
		case !s.cfg.CleanupDeadServers:
			continue
		default:
			since, ok := failedSince[id]
			if !ok {
				failedSince[id] = now
				continue
			}
			if now.Sub(since) < s.cfg.DeadServerThreshold {
				continue
			}
			reason = fmt.Sprintf("it has been failed or missing from the serf pool for over %s", s.cfg.DeadServerThreshold)
		}
		// Keep a quorum of the remaining voters alive.
		if remaining := len(voters) - 1; alive < remaining/2+1 {
			s.logger.Warn("not removing a dead server: the rest would have no quorum", "id", id, "voters", len(voters), "alive", alive)
			continue
		}
		s.logger.Info("removing server from Raft", "id", id, "reason", reason)
		if err := s.raft.RemoveServer(id, 0, raftApplyTimeout).Error(); err != nil {
			s.logger.Error("could not remove server from Raft", "id", id, "error", err)
			continue
		}
		delete(voters, id)
		delete(failedSince, id)
		s.reaped.remove(id)
	}
}

// reapedServers is a set of Raft server IDs, safe for concurrent use: the
// serf event loop adds, the leader's reconciler reads and removes.
type reapedServers struct {
	mu  sync.Mutex
	ids map[raft.ServerID]bool
}

func (r *reapedServers) add(id raft.ServerID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ids == nil {
		r.ids = map[raft.ServerID]bool{}
	}
	r.ids[id] = true
}

func (r *reapedServers) has(id raft.ServerID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ids[id]
}

func (r *reapedServers) remove(id raft.ServerID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.ids, id)
}

// RaftConfig returns the Raft configuration with the leader marked.
func (s *Server) RaftConfig() (*structs.RaftConfiguration, error) {
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, fmt.Errorf("read the Raft configuration: %w", err)
	}
	leaderAddr, leaderID := s.raft.LeaderWithID()
	names := map[string]string{}
	for _, m := range s.servers() {
		names[m.id] = m.name
	}
	out := &structs.RaftConfiguration{Index: f.Index()}
	for _, srv := range f.Configuration().Servers {
		node := names[string(srv.ID)]
		if node == "" {
			node = string(srv.ID)
		}
		out.Servers = append(out.Servers, &structs.RaftServer{
			ID: string(srv.ID), Node: node, Address: string(srv.Address),
			Leader: srv.ID == leaderID && srv.Address == leaderAddr, Voter: srv.Suffrage == raft.Voter, RaftProtocol: "3",
		})
	}
	return out, nil
}

// RemoveRaftPeer removes a server from Raft by ID or by address (one of the
// two). Only the leader can; a follower returns ErrNotLeader.
func (s *Server) RemoveRaftPeer(id, address string) error {
	if (id == "") == (address == "") {
		return structs.NewBadRequest("give exactly one of id= or address= to remove a Raft peer (GET /v1/operator/raft/configuration lists them)")
	}
	if !s.IsLeader() {
		return s.notLeaderError()
	}
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return fmt.Errorf("read the Raft configuration: %w", err)
	}
	for _, srv := range f.Configuration().Servers {
		if (id != "" && string(srv.ID) == id) || (address != "" && string(srv.Address) == address) {
			if err := s.raft.RemoveServer(srv.ID, 0, raftApplyTimeout).Error(); err != nil {
				return fmt.Errorf("remove Raft peer %s (%s): %w", srv.ID, srv.Address, err)
			}
			s.logger.Info("removed Raft peer on request", "id", srv.ID, "address", srv.Address)
			return nil
		}
	}
	return structs.NewNotFound("no Raft peer with id %q address %q (GET /v1/operator/raft/configuration lists them)", id, address)
}

// startCluster joins the serf pool (when configured) and starts its
// goroutines: the event loop (which bootstraps) and retry_join.
func (s *Server) startCluster() error {
	s.bootstrapped.Store(s.hadRaftState || s.cfg.BootstrapExpect <= 1)
	if s.cfg.SerfBindAddr == "" {
		return nil
	}
	events, err := s.setupSerf(s.localRaftAddr())
	if err != nil {
		return err
	}
	if len(s.cfg.StartJoin) > 0 {
		if _, err := s.Join(s.cfg.StartJoin); err != nil {
			_ = s.serf.Shutdown()
			return fmt.Errorf("start_join: %w", err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.clusterCancel = cancel
	s.clusterWG.Add(1)
	go func() {
		defer s.clusterWG.Done()
		s.runSerfEvents(ctx, events)
	}()
	if len(s.cfg.RetryJoin) > 0 {
		s.clusterWG.Add(1)
		go func() {
			defer s.clusterWG.Done()
			s.retryJoin(ctx)
		}()
	}
	return nil
}

// stopCluster stops the serf goroutines and leaves serf running no more.
// It does not leave the pool gracefully: a stopped server stays a voter
// (as Nomad's servers do by default), and is removed by the dead-server
// cleanup only if it stays away.
func (s *Server) stopCluster() error {
	if s.serf == nil {
		return nil
	}
	s.clusterCancel()
	if err := s.serf.Shutdown(); err != nil {
		return fmt.Errorf("stop serf: %w", err)
	}
	s.clusterWG.Wait()
	return nil
}

// localRaftAddr is the Raft address other servers reach this one at.
func (s *Server) localRaftAddr() string {
	return string(s.raftStore.trans.LocalAddr())
}
