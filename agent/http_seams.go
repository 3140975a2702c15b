package agent

import (
	"context"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// ServerAPI is what the HTTP API calls on the server; *server.Server
// implements it. Methods are called concurrently from request goroutines.
// Errors are *structs.CodedError for user mistakes, or wrap
// structs.ErrNotFound, ErrNotLeader or ErrPermissionDenied.
type ServerAPI interface {
	// State is the read side of the server's state store: blocking
	// queries and read-only snapshots, so data and index agree.
	State() state.Reader
	IsLeader() bool
	// Ready reports whether the server has applied its Raft log far enough
	// to serve (the leader: everything committed before its term), and why not.
	Ready() (bool, string)
	// Leader is the leader's RPC address ("" when there is none).
	Leader() string
	Peers() []string
	RegisterJob(ctx context.Context, req *structs.JobRegisterRequest) (*structs.JobRegisterResponse, error)
	DeregisterJob(ctx context.Context, namespace, jobID string, purge bool) (*structs.JobDeregisterResponse, error)
	RegisterNode(ctx context.Context, node *structs.Node) (*structs.NodeUpdateResponse, error)
	NodeHeartbeat(ctx context.Context, nodeID, secretID string) (*structs.NodeUpdateResponse, error)
	UpdateAllocsFromClient(ctx context.Context, nodeID, secretID string, allocs []*structs.Allocation) (uint64, error)
	StopAlloc(ctx context.Context, allocID string) (evalID string, index uint64, err error)
	Stats() map[string]string
}

// ClientAPI is what the HTTP API calls on the local client; *client.Client
// implements it. Methods are called concurrently from request goroutines.
type ClientAPI interface {
	NodeID() string
	// StreamLogs streams a task's log as frames to emit until the log ends
	// (follow=false), ctx ends, or emit fails. It returns an error wrapping
	// structs.ErrNotFound when the allocation or task is not on this client.
	StreamLogs(ctx context.Context, allocID, task, logType, origin string, offset int64, follow bool, emit func(*api.StreamFrame) error) error
}

// JobParser turns HCL job source into a job (jobspec.ParseWithVars).
type JobParser func(filename string, src []byte, vars map[string]string) (*structs.Job, error)

// watchSet is the watch set state query functions fill.
type watchSet = memdb.WatchSet
