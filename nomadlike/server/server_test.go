package server

import (
	"testing"
)

func TestEndToEndPlacement(t *testing.T) {
	s := newTestServer(t, nil)
	n := mockNode("node-1")
	registerNode(t, s, n)
	resp := registerJob(t, s, mockJob("web", 3, 100, 128))
	if resp.EvalID == "" || resp.Index == 0 {
		t.Fatalf("got response %+v, want an eval ID and an index", resp)
	}
	allocs := waitLiveAllocs(t, s, "web", 3)
	for _, a := range allocs {
		if a.NodeID != n.ID {
			t.Errorf("alloc %s on node %s, want %s", a.ID, a.NodeID, n.ID)
		}
		if a.Job == nil {
			t.Errorf("alloc %s has no job", a.ID)
		}
	}
	waitFor(t, 5e9, "eval complete", func() (bool, string) {
		e, err := s.state.EvalByID(nil, resp.EvalID)
		if err != nil || e == nil {
			return false, "eval missing"
		}
		return e.Status == "complete", "status " + e.Status
	})
}
