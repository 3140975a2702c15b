package command

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// errWaitTimeout reports that allocations did not reach their state in time.
var errWaitTimeout = errors.New("timed out")

// allocFailure is an allocation that failed while `job run` watched it.
type allocFailure struct {
	alloc  *structs.AllocListStub
	reason string
}

// waitRunning watches the allocations ids of job jobID with blocking queries
// until each is running (service) or complete (batch), then, for services,
// keeps watching for healthyTime so that a task that exits right after it
// starts is caught. It returns the first failure seen, or nil when all are
// fine. ctx bounds the wait; when it ends, the error wraps errWaitTimeout and
// pending holds the allocations not yet done.
func (m *monitor) waitRunning(ctx context.Context, job *structs.Job, ids []string, healthyTime time.Duration) (failure *allocFailure, pending []*structs.AllocListStub, err error) {
	jobID, jobType := job.ID, job.Type
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	status := map[string]string{}
	target := structs.AllocClientStatusRunning
	if jobType == structs.JobTypeBatch {
		target = structs.AllocClientStatusComplete
		healthyTime = 0
	}
	m.printf("==> %s: Waiting for %d allocation(s) to be %s", m.stamp(), len(ids), target)
	var idx uint64
	var since time.Time // when all allocations were first seen done
	var latest map[string]*structs.AllocListStub
	for {
		wait := blockingWait
		if !since.IsZero() {
			left := healthyTime - m.now().Sub(since)
			if left <= 0 {
				m.printf("==> %s: All %d allocation(s) stayed running for %s", m.stamp(), len(ids), healthyTime)
				return nil, nil, nil
			}
			wait = left
		}
		q := m.q
		q.WaitIndex, q.WaitTime = idx, wait
		stubs, meta, err := m.cl.JobAllocations(ctx, jobID, &q)
		if err != nil {
			if ctx.Err() != nil {
				for _, id := range ids {
					a := latest[id]
					if a == nil {
						a = &structs.AllocListStub{ID: id, ClientStatus: "unknown"}
					}
					if !allocDone(a, job) {
						pending = append(pending, a)
					}
				}
				return nil, pending, fmt.Errorf("allocations not %s: %w", target, errWaitTimeout)
			}
			return nil, nil, fail(fmt.Sprintf("listing the allocations of job %q", jobID), err, "")
		}
		if meta.LastIndex > idx {
			idx = meta.LastIndex
		}
		latest = map[string]*structs.AllocListStub{}
		allDone := true
		for _, a := range stubs {
			if !want[a.ID] {
				continue
			}
			latest[a.ID] = a
			if prev, ok := status[a.ID]; !ok || prev != a.ClientStatus {
				if ok {
					m.printf("    Allocation %q status changed: %q -> %q", m.id(a.ID), prev, a.ClientStatus)
				}
				status[a.ID] = a.ClientStatus
			}
			if reason := allocProblem(a, job); reason != "" {
				return &allocFailure{alloc: a, reason: reason}, nil, nil
			}
			if !allocDone(a, job) {
				allDone = false
			}
		}
		if len(latest) < len(want) {
			allDone = false
		}
		switch {
		case !allDone:
			since = time.Time{}
		case healthyTime <= 0:
			m.printf("==> %s: All %d allocation(s) are %s", m.stamp(), len(ids), target)
			return nil, nil, nil
		case since.IsZero():
			since = m.now()
			m.printf("==> %s: All %d allocation(s) are running; watching them for %s to catch early exits", m.stamp(), len(ids), healthyTime)
		}
	}
}

// waitStopped watches the allocations ids of job jobID until the client
// reports each terminal, printing each as it stops. A purged job's
// allocation list is read from the cluster-wide list instead.
func (m *monitor) waitStopped(ctx context.Context, jobID string, ids []string) (pending []string, err error) {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	m.printf("==> %s: Waiting for %d allocation(s) to stop", m.stamp(), len(ids))
	var idx uint64
	purged := false
	for len(want) > 0 {
		q := m.q
		q.WaitIndex, q.WaitTime = idx, blockingWait
		var stubs []*structs.AllocListStub
		var meta *api.QueryMeta
		if purged {
			stubs, meta, err = m.cl.ListAllocations(ctx, &q)
		} else {
			stubs, meta, err = m.cl.JobAllocations(ctx, jobID, &q)
			if api.IsNotFound(err) {
				purged, idx = true, 0
				continue
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				for id := range want {
					pending = append(pending, id)
				}
				return pending, fmt.Errorf("allocations still running: %w", errWaitTimeout)
			}
			return nil, fail(fmt.Sprintf("listing the allocations of job %q", jobID), err, "")
		}
		if meta.LastIndex > idx {
			idx = meta.LastIndex
		}
		seen := map[string]bool{}
		for _, a := range stubs {
			if !want[a.ID] {
				continue
			}
			seen[a.ID] = true
			if clientTerminal(a.ClientStatus) {
				m.printf("    Allocation %q stopped: client status %q", m.id(a.ID), a.ClientStatus)
				delete(want, a.ID)
			}
		}
		for id := range want {
			if !seen[id] && purged {
				// Garbage collected with its job: nothing left to run.
				m.printf("    Allocation %q removed", m.id(id))
				delete(want, id)
			}
		}
	}
	m.printf("==> %s: All allocations of job %q stopped", m.stamp(), jobID)
	return nil, nil
}
