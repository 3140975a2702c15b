package server

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/raft"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// applyEntryErr applies one entry and returns the FSM's response.
func applyEntryErr(t *testing.T, f *fsm, index uint64, typ structs.MessageType, body any) any {
	t.Helper()
	buf, err := encodeEntry(typ, body)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return f.Apply(&raft.Log{Index: index, Type: raft.LogCommand, Data: buf})
}

// TestFSMACLEntries applies every ACL and namespace entry (types 23-31),
// checks the state, and that a snapshot carries all of it (hashes only).
func TestFSMACLEntries(t *testing.T) {
	f := newTestFSM(t)
	st := f.state
	secret := structs.GenerateUUID()
	boot := &structs.ACLToken{AccessorID: structs.GenerateUUID(), Type: structs.ACLManagementToken, Hash: structs.HashSecret(secret)}
	applyEntry(t, f, 10, structs.ACLTokenBootstrapRequestType, &structs.ACLTokenBootstrapRequest{Token: boot})
	if resp := applyEntryErr(t, f, 11, structs.ACLTokenBootstrapRequestType, &structs.ACLTokenBootstrapRequest{Token: boot}); resp == nil ||
		!strings.Contains(resp.(error).Error(), "reset index: 10") {
		t.Fatalf("second bootstrap = %v, want the refusal naming reset index 10", resp)
	}
	// The reset procedure: the previous bootstrap's index allows one more.
	again := &structs.ACLToken{AccessorID: structs.GenerateUUID(), Type: structs.ACLManagementToken, Hash: structs.HashSecret("x")}
	applyEntry(t, f, 12, structs.ACLTokenBootstrapRequestType, &structs.ACLTokenBootstrapRequest{Token: again, ResetIndex: 10})
	if idx, _ := st.ACLBootstrapIndex(); idx != 12 {
		t.Fatalf("bootstrap index = %d, want 12", idx)
	}

	applyEntry(t, f, 13, structs.ACLPolicyUpsertRequestType, &structs.ACLPolicyUpsertRequest{Policies: []*structs.ACLPolicy{{Name: "p", Rules: `namespace "a" { policy = "read" }`}}})
	applyEntry(t, f, 14, structs.ACLRoleUpsertRequestType, &structs.ACLRoleUpsertRequest{Roles: []*structs.ACLRole{{ID: "r1", Name: "ops", Policies: []*structs.ACLRolePolicyLink{{Name: "p"}}}}})
	if resp := applyEntryErr(t, f, 15, structs.ACLRoleUpsertRequestType, &structs.ACLRoleUpsertRequest{Roles: []*structs.ACLRole{{ID: "r2", Name: "ops", Policies: []*structs.ACLRolePolicyLink{{Name: "p"}}}}}); resp == nil {
		t.Fatal("a second role named ops was accepted")
	}
	clientTok := &structs.ACLToken{AccessorID: "acc", Type: structs.ACLClientToken, Policies: []string{"p"}, Hash: structs.HashSecret("s3cret")}
	applyEntry(t, f, 16, structs.ACLTokenUpsertRequestType, &structs.ACLTokenUpsertRequest{Tokens: []*structs.ACLToken{clientTok}})
	applyEntry(t, f, 17, structs.NamespaceUpsertRequestType, &structs.NamespaceUpsertRequest{Namespaces: []*structs.Namespace{{Name: "a", Description: "team a"}}})

	if tok, _ := st.ACLTokenBySecret(nil, "s3cret"); tok == nil || tok.AccessorID != "acc" || tok.SecretID != "" {
		t.Fatalf("ACLTokenBySecret = %+v, want accessor acc without a stored secret", tok)
	}
	if tok, _ := st.ACLTokenBySecret(nil, "wrong"); tok != nil {
		t.Fatalf("ACLTokenBySecret(wrong) = %+v, want nil", tok)
	}

	dst := snapshotRoundTrip(t, f)
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"policy", must1(dst.state.ACLPolicyByName(nil, "p")), must1(st.ACLPolicyByName(nil, "p"))},
		{"role", must1(dst.state.ACLRoleByID(nil, "r1")), must1(st.ACLRoleByID(nil, "r1"))},
		{"token", must1(dst.state.ACLTokenByAccessorID(nil, "acc")), must1(st.ACLTokenByAccessorID(nil, "acc"))},
		{"namespaces", must1(dst.state.Namespaces(nil)), must1(st.Namespaces(nil))},
		{"bootstrap index", must1(dst.state.ACLBootstrapIndex()), uint64(12)},
	} {
		if d := cmp.Diff(c.want, c.got); d != "" {
			t.Errorf("%s after snapshot restore (-want +got):\n%s", c.name, d)
		}
	}
	if tok, _ := dst.state.ACLTokenBySecret(nil, "s3cret"); tok == nil {
		t.Fatal("restored token not found by its secret")
	}

	applyEntry(t, f, 18, structs.ACLTokenDeleteRequestType, &structs.ACLTokenDeleteRequest{AccessorIDs: []string{"acc"}})
	applyEntry(t, f, 19, structs.ACLRoleDeleteRequestType, &structs.ACLRoleDeleteRequest{IDs: []string{"r1"}})
	applyEntry(t, f, 20, structs.ACLPolicyDeleteRequestType, &structs.ACLPolicyDeleteRequest{Names: []string{"p"}})
	applyEntry(t, f, 21, structs.NamespaceDeleteRequestType, &structs.NamespaceDeleteRequest{Names: []string{"a"}})
	if resp := applyEntryErr(t, f, 22, structs.NamespaceDeleteRequestType, &structs.NamespaceDeleteRequest{Names: []string{"default"}}); resp == nil {
		t.Fatal("the default namespace was deleted")
	}
	if tok, _ := st.ACLTokenByAccessorID(nil, "acc"); tok != nil {
		t.Fatal("token survived its delete")
	}
	if ns, _ := st.Namespaces(nil); len(ns) != 1 || ns[0].Name != "default" {
		t.Fatalf("namespaces after delete = %v, want only default", ns)
	}
}

func must1[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
