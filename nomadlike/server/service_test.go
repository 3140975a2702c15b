package server

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestFSMServiceRegistrationsSnapshotRestore(t *testing.T) {
	f := newTestFSM(t)
	_, _, alloc := populateFSM(t, f)
	reg := &structs.ServiceRegistration{ID: "_nomad-task-x", ServiceName: "web", Namespace: "default", AllocID: alloc.ID,
		NodeID: alloc.NodeID, JobID: "web", Address: "127.0.0.1", Port: 8080, Tags: []string{"a"}}
	applyEntry(t, f, 20, structs.ServiceRegistrationUpsertRequestType, &structs.ServiceRegistrationUpsertRequest{Services: []*structs.ServiceRegistration{reg}})
	g := snapshotRoundTrip(t, f)
	want, _ := f.state.ServiceRegistrations(nil, "*")
	got, _ := g.state.ServiceRegistrations(nil, "*")
	if diff := cmp.Diff(want, got); diff != "" || len(got) != 1 {
		t.Errorf("registrations after restore (-want +got):\n%s", diff)
	}
	applyEntry(t, g, 21, structs.ServiceRegistrationDeleteRequestType, &structs.ServiceRegistrationDeleteRequest{AllocIDs: []string{alloc.ID}})
	if left, _ := g.state.ServiceRegistrations(nil, "*"); len(left) != 0 {
		t.Errorf("left after delete: %+v", left)
	}
}

func TestServiceRegistrationLifecycle(t *testing.T) {
	s := newTestServer(t, nil)
	node := mockNode("n1")
	registerNode(t, s, node)
	registerJob(t, s, mockJob("web", 1, 100, 64))
	alloc := waitLiveAllocs(t, s, "web", 1)[0]
	ctx := context.Background()
	reg := func(id string, port int) *structs.ServiceRegistration {
		// Identity fields are the server's to fill: these lies are overwritten.
		return &structs.ServiceRegistration{ID: id, ServiceName: "web", Port: port, Address: "127.0.0.1", JobID: "other", NodeID: "other"}
	}

	if _, err := s.UpdateAllocServices(ctx, node.ID, "wrong", &structs.ServiceRegistrationAllocRequest{AllocID: alloc.ID}); !errors.Is(err, structs.ErrPermissionDenied) {
		t.Errorf("wrong secret: got %v, want permission denied", err)
	}
	other := mockNode("n2")
	registerNode(t, s, other)
	if _, err := s.UpdateAllocServices(ctx, other.ID, other.SecretID, &structs.ServiceRegistrationAllocRequest{AllocID: alloc.ID,
		Services: []*structs.ServiceRegistration{reg("a", 1)}}); err == nil {
		t.Error("another node registered the allocation's services")
	}

	_, err := s.UpdateAllocServices(ctx, node.ID, node.SecretID, &structs.ServiceRegistrationAllocRequest{AllocID: alloc.ID,
		Services: []*structs.ServiceRegistration{reg("a", 1), reg("b", 2)}})
	if err != nil {
		t.Fatal(err)
	}
	regs, _ := s.state.ServiceRegistrationsByName(nil, "", "web")
	if len(regs) != 2 || regs[0].JobID != "web" || regs[0].NodeID != node.ID || regs[0].AllocID != alloc.ID || regs[0].Datacenter != "dc1" {
		t.Fatalf("registrations: %+v", regs)
	}
	// Replacing drops b.
	if _, err := s.UpdateAllocServices(ctx, node.ID, node.SecretID, &structs.ServiceRegistrationAllocRequest{AllocID: alloc.ID,
		Services: []*structs.ServiceRegistration{reg("a", 1)}}); err != nil {
		t.Fatal(err)
	}
	if regs, _ := s.state.ServiceRegistrationsByName(nil, "", "web"); len(regs) != 1 || regs[0].ID != "a" {
		t.Fatalf("after replace: %+v", regs)
	}
	if _, err := s.DeleteServiceRegistration(ctx, "", "web", "nope"); !errors.Is(err, structs.ErrNotFound) {
		t.Errorf("delete unknown: got %v, want not found", err)
	}

	// The allocation fails on the client: the leader's reaper removes its services.
	failed := alloc.Copy()
	failed.ClientStatus = structs.AllocClientStatusFailed
	if _, err := s.UpdateAllocsFromClient(ctx, node.ID, node.SecretID, []*structs.Allocation{failed}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "registrations of the failed allocation removed", func() (bool, string) {
		regs, _ := s.state.ServiceRegistrations(nil, "*")
		return len(regs) == 0, "still registered"
	})
}
