package state

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestUpsertNodeKeepsCreateIndexAndEvents(t *testing.T) {
	s := newTestStore(t)
	must(t, s.UpsertNode(1, testNode("n1")))
	must(t, s.UpdateNodeStatus(2, "n1", structs.NodeStatusDown, 50, &structs.NodeEvent{Message: "heartbeat missed"}))
	again := testNode("n1")
	again.StatusUpdatedAt = 60
	must(t, s.UpsertNode(3, again))
	got, err := s.NodeByID(nil, "n1")
	must(t, err)
	var msgs []string
	for _, e := range got.Events {
		msgs = append(msgs, fmt.Sprintf("%s@%d", e.Message, e.CreateIndex))
	}
	want := []string{NodeEventRegistered + "@1", "heartbeat missed@2", NodeEventReregistered + "@3"}
	if diff := cmp.Diff(want, msgs); diff != "" {
		t.Errorf("node events (-want +got):\n%s", diff)
	}
	if got.CreateIndex != 1 || got.ModifyIndex != 3 || got.Status != structs.NodeStatusReady {
		t.Errorf("node create/modify/status = %d/%d/%q, want 1/3/ready", got.CreateIndex, got.ModifyIndex, got.Status)
	}
}

func TestUpdateNodeStatusCapsEvents(t *testing.T) {
	s := newTestStore(t)
	must(t, s.UpsertNode(1, testNode("n1")))
	for i := range 15 {
		ev := &structs.NodeEvent{Message: fmt.Sprintf("event %d", i)}
		must(t, s.UpdateNodeStatus(uint64(10+i), "n1", structs.NodeStatusReady, int64(i), ev))
		if ev.CreateIndex != 0 {
			t.Fatalf("the caller's event was changed (CreateIndex %d)", ev.CreateIndex)
		}
	}
	got, err := s.NodeByID(nil, "n1")
	must(t, err)
	if len(got.Events) != MaxNodeEvents {
		t.Fatalf("kept %d events, want %d", len(got.Events), MaxNodeEvents)
	}
	if first, last := got.Events[0], got.Events[len(got.Events)-1]; first.Message != "event 5" || last.Message != "event 14" || last.CreateIndex != 24 {
		t.Errorf("kept events %q..%q (last index %d), want \"event 5\"..\"event 14\" (24)", first.Message, last.Message, last.CreateIndex)
	}
	if got.StatusUpdatedAt != 14 {
		t.Errorf("StatusUpdatedAt = %d, want 14", got.StatusUpdatedAt)
	}
}

func TestNodeUpdatesOfUnknownNodes(t *testing.T) {
	s := newTestStore(t)
	tests := []struct {
		name string
		err  error
	}{
		{"status", s.UpdateNodeStatus(1, "nope", structs.NodeStatusDown, 1, nil)},
		{"eligibility", s.UpdateNodeEligibility(1, "nope", structs.NodeSchedulingIneligible, 1, nil)},
		{"drain", s.UpdateNodeDrain(1, "nope", true, 1, nil)},
		{"delete", s.DeleteNodes(1, []string{"nope"})},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, structs.ErrNotFound) {
			t.Errorf("%s of unknown node: got %v, want ErrNotFound", tt.name, tt.err)
		}
	}
	must(t, s.UpsertNode(2, testNode("n1")))
	var coded *structs.CodedError
	if err := s.UpdateNodeEligibility(3, "n1", "maybe", 1, nil); !errors.As(err, &coded) || coded.Code != 400 {
		t.Errorf("unknown eligibility: got %v, want a 400 CodedError", err)
	}
}

func TestNodeDrainAndEligibility(t *testing.T) {
	s := newTestStore(t)
	must(t, s.UpsertNode(1, testNode("n1")))
	must(t, s.UpdateNodeDrain(2, "n1", true, 5, nil))
	got, err := s.NodeByID(nil, "n1")
	must(t, err)
	if !got.Drain || got.SchedulingEligibility != structs.NodeSchedulingIneligible || got.Ready() {
		t.Errorf("draining node: drain %v eligibility %q ready %v, want true, ineligible, false", got.Drain, got.SchedulingEligibility, got.Ready())
	}
	must(t, s.UpdateNodeDrain(3, "n1", false, 6, nil))
	must(t, s.UpdateNodeEligibility(4, "n1", structs.NodeSchedulingEligible, 7, nil))
	got, err = s.NodeByID(nil, "n1")
	must(t, err)
	if !got.Ready() || got.ModifyIndex != 4 {
		t.Errorf("node after drain end: ready %v modify index %d, want true and 4", got.Ready(), got.ModifyIndex)
	}
}

func TestPrefixLookups(t *testing.T) {
	s := newTestStore(t)
	for i, id := range []string{"ab12", "ab34", "cd56"} {
		must(t, s.UpsertNode(uint64(i+1), testNode(id)))
	}
	job := testJob("web")
	must(t, s.UpsertJob(10, job))
	must(t, s.UpsertEvals(11, []*structs.Evaluation{
		testEval("ee01", job, structs.EvalStatusComplete), testEval("ee02", job, structs.EvalStatusComplete),
		testEval("ff03", job, structs.EvalStatusComplete),
	}))
	nodeIDs := func(prefix string) []string {
		nodes, err := s.NodesByIDPrefix(nil, prefix)
		must(t, err)
		var ids []string
		for _, n := range nodes {
			ids = append(ids, n.ID)
		}
		return ids
	}
	evalIDs := func(ns, prefix string) []string {
		evals, err := s.EvalsByIDPrefix(nil, ns, prefix)
		must(t, err)
		var ids []string
		for _, e := range evals {
			ids = append(ids, e.ID)
		}
		return ids
	}
	tests := []struct {
		name      string
		got, want []string
	}{
		{"nodes ab", nodeIDs("ab"), []string{"ab12", "ab34"}},
		{"nodes full id", nodeIDs("cd56"), []string{"cd56"}},
		{"nodes none", nodeIDs("zz"), nil},
		{"nodes all", nodeIDs(""), []string{"ab12", "ab34", "cd56"}},
		{"evals ee", evalIDs("default", "ee"), []string{"ee01", "ee02"}},
		{"evals any ns", evalIDs("*", "f"), []string{"ff03"}},
		{"evals other ns", evalIDs("prod", "ee"), nil},
		{"evals all in ns", evalIDs("default", ""), []string{"ee01", "ee02", "ff03"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
