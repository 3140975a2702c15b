package server

import (
	"fmt"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// A plan result entry (ApplyPlanResultsRequestType, and each plan of an
// ApplyPlanResultsBatchRequestType) carries the whole job the plan was made
// for, but the state store reads it only to give placements without a Job
// their job. A plan that places nothing (a deployment, stops, a blocked
// evaluation: every plan of a job no node can run) left decoding the job
// to be thrown away, about as much work as the rest of the entry. The FSM
// decodes these entries into planEntry, which keeps the job's bytes, and
// decodes the job only when a placement needs it. The entries' bytes are
// unchanged.

// planEntry is structs.ApplyPlanResultsRequest with its Job left encoded:
// the same fields, names and types (TestPlanEntryMatchesTheRequest), so it
// decodes the same bytes.
type planEntry struct {
	Job               planJob
	AllocsStopped     []*structs.Allocation
	AllocsPlaced      []*structs.Allocation
	EvalID            string
	Evals             []*structs.Evaluation
	Timestamp         int64
	AllocsPreempted   []*structs.Allocation             `json:",omitempty"`
	Deployment        *structs.Deployment               `json:",omitempty"`
	DeploymentUpdates []*structs.DeploymentStatusUpdate `json:",omitempty"`
}

// planBatchEntry is structs.ApplyPlanResultsBatchRequest of planEntry.
type planBatchEntry struct {
	Plans []*planEntry
}

// planJob is a plan's job, still encoded (a copy of its bytes; it is
// never encoded).
type planJob struct {
	raw codec.Raw
}

// CodecDecodeSelf keeps the job's bytes.
func (j *planJob) CodecDecodeSelf(d *codec.Decoder) {
	d.MustDecode(&j.raw)
}

// CodecEncodeSelf is never called: a planEntry is only decoded.
func (j *planJob) CodecEncodeSelf(*codec.Encoder) {
	panic("server: a plan entry's job is decoded only")
}

// request returns the plan result p holds: its Job decoded only when a
// placement has none (else nil, which the state store does not read).
func (p *planEntry) request() (*structs.ApplyPlanResultsRequest, error) {
	req := &structs.ApplyPlanResultsRequest{
		AllocsStopped: p.AllocsStopped, AllocsPlaced: p.AllocsPlaced, EvalID: p.EvalID, Evals: p.Evals,
		Timestamp: p.Timestamp, AllocsPreempted: p.AllocsPreempted, Deployment: p.Deployment, DeploymentUpdates: p.DeploymentUpdates,
	}
	for _, a := range p.AllocsPlaced {
		if a != nil && a.Job == nil && len(p.Job.raw) > 0 {
			if err := decodeBody(p.Job.raw, &req.Job); err != nil {
				return nil, fmt.Errorf("decode the job of plan result of eval %q: %w", p.EvalID, err)
			}
			break
		}
	}
	return req, nil
}

// planResultsHandler applies ApplyPlanResultsRequestType entries.
var planResultsHandler = entryHandler{event: structs.TypePlanResult, name: "ApplyPlanResultsRequest",
	apply: func(st *state.Store, index uint64, buf []byte) (state.Result, error) {
		var p planEntry
		if err := decodeBody(buf, &p); err != nil {
			return state.Result{}, fmt.Errorf("decode %T: %w", structs.ApplyPlanResultsRequest{}, err)
		}
		req, err := p.request()
		if err != nil {
			return state.Result{}, err
		}
		return st.ApplyPlanResults(index, req)
	}}

// planResultsBatchHandler applies ApplyPlanResultsBatchRequestType entries.
var planResultsBatchHandler = entryHandler{event: structs.TypePlanResult, name: "ApplyPlanResultsBatchRequest",
	apply: func(st *state.Store, index uint64, buf []byte) (state.Result, error) {
		var b planBatchEntry
		if err := decodeBody(buf, &b); err != nil {
			return state.Result{}, fmt.Errorf("decode %T: %w", structs.ApplyPlanResultsBatchRequest{}, err)
		}
		req := &structs.ApplyPlanResultsBatchRequest{Plans: make([]*structs.ApplyPlanResultsRequest, len(b.Plans))}
		for i, p := range b.Plans {
			if p == nil {
				continue // the state store refuses it
			}
			var err error
			if req.Plans[i], err = p.request(); err != nil {
				return state.Result{}, err
			}
		}
		return st.ApplyPlanResultsBatch(index, req)
	}}
