package structs

import (
	"fmt"
	"net/http"
)

// WriteOnce identifies one logical write in the Raft entry that applies it,
// so that a retried write is applied once (issue 13, item 6). The server
// that first receives the HTTP request assigns RequestID (or takes the
// client's Idempotency-Key); a follower forwarding the request, and every
// retry of it, carries the same ID. The state store keeps a WriteRecord of
// every applied ID for WriteOnceWindow and applies a second entry with a
// known ID as a no-op that answers with the first one's result.
//
// The fields are never read from a JSON body (json:"-"): the HTTP layer
// sets them. They travel in the Raft log (msgpack reads codec tags only).
type WriteOnce struct {
	// RequestID is the logical write's ID ("" for a write without one).
	RequestID string `json:"-"`
	// Fingerprint is a digest of the HTTP request (method, path, query,
	// body): a reused ID with another fingerprint is refused (422).
	Fingerprint string `json:"-"`
	// Time is the leader's clock (Unix nanoseconds) when it wrote the
	// entry: the FSM prunes records older than Time - WriteOnceWindow,
	// deterministically (no clock is read while applying).
	Time int64 `json:"-"`
}

// WriteOnceWindow is how long the state store remembers an applied request
// ID: a retry (by a follower, or by a client reusing its Idempotency-Key)
// later than this is a new write.
const WriteOnceWindow int64 = 10 * 60 * 1e9

// WriteRecord is what the state store keeps of an applied write that had a
// request ID: enough to answer a retry as the first apply was answered.
type WriteRecord struct {
	RequestID   string
	Fingerprint string
	// Index is the Raft index of the entry that applied the write.
	Index uint64
	// Time is the entry's WriteOnce.Time.
	Time int64
	// The job and evaluation the write stored first (empty when none):
	// a retried register, dispatch or scale answers with them.
	Namespace      string
	JobID          string
	JobModifyIndex uint64
	EvalID         string
}

// ReusedRequestIDError is the 422 for a request ID (an Idempotency-Key)
// sent again with a different request than the one applied with it.
func ReusedRequestIDError(prev *WriteRecord) error {
	return &CodedError{Code: http.StatusUnprocessableEntity,
		Msg: fmt.Sprintf("request ID %q was already used for a different request (applied at index %d): send a new Idempotency-Key for a new request, and the same key only to retry the identical request", prev.RequestID, prev.Index)}
}
