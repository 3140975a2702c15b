package state

import (
	"fmt"
	"testing"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func testReg(id, name, alloc, node string, port int) *structs.ServiceRegistration {
	return &structs.ServiceRegistration{ID: id, ServiceName: name, AllocID: alloc, NodeID: node, JobID: "j",
		Address: "10.0.0.1", Port: port, Tags: []string{"t"}}
}

func TestServiceRegistrationsUpsertReadDelete(t *testing.T) {
	s := newTestStore(t)
	must(t, s.UpsertServiceRegistrations(10, []*structs.ServiceRegistration{
		testReg("a1", "web", "alloc-1", "node-1", 8001),
		testReg("a2", "web", "alloc-2", "node-2", 8002),
		testReg("b1", "db", "alloc-1", "node-1", 9001),
	}))
	regs, err := s.ServiceRegistrationsByName(nil, "", "web")
	must(t, err)
	if len(regs) != 2 || regs[0].ID != "a1" || regs[0].Namespace != structs.DefaultNamespace || regs[0].CreateIndex != 10 {
		t.Fatalf("web registrations: %+v", regs)
	}

	// An unchanged upsert wakes no one and keeps the index; a changed one
	// keeps CreateIndex.
	ws := memdb.NewWatchSet()
	_, err = s.ServiceRegistrationsByName(ws, "", "web")
	must(t, err)
	must(t, s.UpsertServiceRegistrations(11, []*structs.ServiceRegistration{testReg("a1", "web", "alloc-1", "node-1", 8001)}))
	if idx, _ := s.Index(tableServiceRegistrations); idx != 10 {
		t.Errorf("index after a no-op upsert = %d, want 10", idx)
	}
	must(t, s.UpsertServiceRegistrations(12, []*structs.ServiceRegistration{testReg("a1", "web", "alloc-1", "node-1", 8011)}))
	if !watchFired(ws) {
		t.Error("a changed registration did not wake the watcher")
	}
	r, err := s.ServiceRegistrationByID(nil, "default", "a1")
	must(t, err)
	if r.Port != 8011 || r.CreateIndex != 10 || r.ModifyIndex != 12 {
		t.Errorf("a1 after update: %+v", r)
	}

	byAlloc, err := s.ServiceRegistrationsByAlloc(nil, "alloc-1")
	must(t, err)
	if len(byAlloc) != 2 {
		t.Errorf("alloc-1 has %d registrations, want 2", len(byAlloc))
	}
	must(t, s.DeleteServiceRegistrations(13, &structs.ServiceRegistrationDeleteRequest{AllocIDs: []string{"alloc-1", "missing"}}))
	must(t, s.DeleteServiceRegistrations(14, &structs.ServiceRegistrationDeleteRequest{NodeID: "node-2", IDs: []string{"a2"}}))
	all, err := s.ServiceRegistrations(nil, "*")
	must(t, err)
	if len(all) != 0 {
		t.Errorf("left after deletes: %+v", all)
	}
	if err := s.UpsertServiceRegistrations(15, []*structs.ServiceRegistration{{ID: "x"}}); err == nil {
		t.Error("a registration without ServiceName was stored")
	}
}

// watchFired reports whether ws has fired (without waiting).
func watchFired(ws memdb.WatchSet) bool {
	for ch := range ws {
		select {
		case <-ch:
			return true
		default:
		}
	}
	return false
}

// BenchmarkServiceRegistrationsByName reads one service of 100 among
// 5000 registrations, as a template watch does on each change.
func BenchmarkServiceRegistrationsByName(b *testing.B) {
	s := newTestStore(b)
	var regs []*structs.ServiceRegistration
	for i := range 5000 {
		regs = append(regs, testReg(fmt.Sprintf("r%d", i), fmt.Sprintf("svc-%d", i%100), fmt.Sprintf("alloc-%d", i), "node-1", 20000+i))
	}
	must(b, s.UpsertServiceRegistrations(10, regs))
	b.ResetTimer()
	for b.Loop() {
		out, err := s.ServiceRegistrationsByName(nil, "", "svc-42")
		if err != nil || len(out) != 50 {
			b.Fatalf("got %d, %v", len(out), err)
		}
	}
}
