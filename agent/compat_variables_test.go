package agent

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/nomadlike/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestCompatVariablesOfficialClient drives variables, their ACLs, locks
// and the keyring through HashiCorp's official Go client.
func TestCompatVariablesOfficialClient(t *testing.T) {
	a := startDevAgentWith(t, func(c *Config) { c.ACL.Enabled = true })
	anon := aclClient(t, a.HTTPAddr(), "")
	boot, _, err := anon.ACLTokens().Bootstrap(nil)
	if err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	mgmt := aclClient(t, a.HTTPAddr(), boot.SecretID)

	var firstKey string
	waitFor(t, "the leader's first root key", 30*time.Second, func() (bool, string) {
		keys, _, err := mgmt.Keyring().List(nil)
		if err != nil {
			return false, err.Error()
		}
		if len(keys) != 1 || keys[0].State != nomad.RootKeyStateActive || keys[0].Algorithm != nomad.EncryptionAlgorithmAES256GCM {
			return false, "no single active aes256-gcm key"
		}
		firstKey = keys[0].KeyID
		return true, ""
	})

	vars := mgmt.Variables()
	v := nomad.NewVariable("project/db")
	v.Items["user"], v.Items["password"] = "admin", "hunter2-compat"
	created, _, err := vars.Create(v, nil)
	if err != nil {
		t.Fatalf("Variables().Create: %v", err)
	}
	if created.Namespace != "default" || created.ModifyIndex == 0 || created.Items["password"] != "hunter2-compat" {
		t.Fatalf("Create returned %+v", created)
	}
	got, _, err := vars.Read("project/db", nil)
	if err != nil || got.Items["user"] != "admin" || got.ModifyIndex != created.ModifyIndex {
		t.Fatalf("Variables().Read = %+v, %v", got, err)
	}
	dup := nomad.NewVariable("project/db")
	dup.Items["user"] = "other"
	if _, _, err := vars.CheckedCreate(dup, nil); !isCASConflict(err, created.ModifyIndex) {
		t.Fatalf("CheckedCreate of an existing variable: got %v, want a CAS conflict at %d", err, created.ModifyIndex)
	}
	stale := got.Copy()
	stale.ModifyIndex = created.ModifyIndex + 100
	stale.Items["password"] = "never"
	if _, _, err := vars.CheckedUpdate(stale, nil); !isCASConflict(err, created.ModifyIndex) {
		t.Fatalf("CheckedUpdate with a stale index: got %v, want a CAS conflict", err)
	}
	got.Items["password"] = "hunter3-compat"
	updated, _, err := vars.CheckedUpdate(got, nil)
	if err != nil || updated.ModifyIndex <= created.ModifyIndex || updated.CreateIndex != created.CreateIndex {
		t.Fatalf("CheckedUpdate = %+v, %v", updated, err)
	}
	other := nomad.NewVariable("other/thing")
	other.Items["k"] = "v"
	if _, _, err := vars.Create(other, nil); err != nil {
		t.Fatal(err)
	}
	list, _, err := vars.List(nil)
	if err != nil || len(list) != 2 {
		t.Fatalf("Variables().List = %+v, %v; want 2", list, err)
	}
	list, _, err = vars.PrefixList("project/", nil)
	if err != nil || len(list) != 1 || list[0].Path != "project/db" {
		t.Fatalf("Variables().PrefixList = %+v, %v", list, err)
	}
	items, _, err := vars.GetVariableItems("project/db", nil)
	if err != nil || items["password"] != "hunter3-compat" {
		t.Fatalf("GetVariableItems = %v, %v", items, err)
	}
	if peek, _, err := vars.Peek("missing/path", nil); err != nil || peek != nil {
		t.Fatalf("Peek of a missing variable = %+v, %v; want nil, nil", peek, err)
	}
	bad := nomad.NewVariable("nomad/secrets")
	bad.Items["k"] = "v"
	_, _, err = vars.Create(bad, nil)
	wantStatus(t, "a variable under the reserved nomad/ prefix", err, http.StatusBadRequest)

	// ACLs: a token that may read project/* can neither write nor see other/.
	_, err = mgmt.ACLPolicies().Upsert(&nomad.ACLPolicy{Name: "project-read", Rules: `namespace "default" {
  policy = "read"
  variables {
    path "project/*" {
      capabilities = ["read"]
    }
  }
}`}, nil)
	if err != nil {
		t.Fatalf("policy with a variables block: %v", err)
	}
	tok, _, err := mgmt.ACLTokens().Create(&nomad.ACLToken{Name: "reader", Type: "client", Policies: []string{"project-read"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	reader := aclClient(t, a.HTTPAddr(), tok.SecretID).Variables()
	if r, _, err := reader.Read("project/db", nil); err != nil || r.Items["user"] != "admin" {
		t.Fatalf("read with the project-read token = %+v, %v", r, err)
	}
	_, _, err = reader.Read("other/thing", nil)
	wantStatus(t, "read outside the token's paths", err, http.StatusForbidden)
	_, _, err = reader.Update(got, nil)
	wantStatus(t, "write with a read-only token", err, http.StatusForbidden)
	if l, _, err := reader.List(nil); err != nil || len(l) != 1 || l[0].Path != "project/db" {
		t.Fatalf("list with the project-read token = %+v, %v; want only project/db", l, err)
	}
	_, _, err = anon.Variables().Read("project/db", nil)
	wantStatus(t, "anonymous read", err, http.StatusForbidden)

	// Locks, as `nomad var lock` takes them.
	lockVar := nomad.Variable{Path: "locks/leader", Lock: &nomad.VariableLock{TTL: "10s", LockDelay: "1s"}}
	locks, err := mgmt.Locks(nomad.WriteOptions{}, lockVar)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := locks.Acquire(ctx); err != nil {
		t.Fatalf("Locks.Acquire: %v", err)
	}
	if err := locks.Renew(ctx); err != nil {
		t.Fatalf("Locks.Renew: %v", err)
	}
	_, _, err = vars.AcquireLock(&nomad.Variable{Path: "locks/leader", Lock: &nomad.VariableLock{TTL: "10s"}}, nil)
	wantStatus(t, "acquiring a held lock", err, http.StatusConflict)
	held, _, err := vars.Read("locks/leader", nil)
	if err != nil || held.Lock == nil {
		t.Fatalf("read of the locked variable = %+v, %v; want its lock", held, err)
	}
	if err := locks.Release(ctx); err != nil {
		t.Fatalf("Locks.Release: %v", err)
	}
	if _, _, err := vars.AcquireLock(&nomad.Variable{Path: "locks/leader", Lock: &nomad.VariableLock{TTL: "10s"}}, nil); err != nil {
		t.Fatalf("acquire after release: %v", err)
	}

	// A full rotation re-encrypts every variable; the old key can then go.
	newKey, _, err := mgmt.Keyring().Rotate(&nomad.KeyringRotateOptions{Full: true}, nil)
	if err != nil || newKey.KeyID == firstKey || newKey.State != nomad.RootKeyStateActive {
		t.Fatalf("Keyring().Rotate = %+v, %v", newKey, err)
	}
	_, err = mgmt.Keyring().Delete(&nomad.KeyringDeleteOptions{KeyID: newKey.KeyID}, nil)
	wantStatus(t, "removing the active key", err, http.StatusBadRequest)
	waitFor(t, "the old key to be deprecated", 30*time.Second, func() (bool, string) {
		keys, _, err := mgmt.Keyring().List(nil)
		if err != nil {
			return false, err.Error()
		}
		for _, k := range keys {
			if k.KeyID == firstKey {
				return k.State == nomad.RootKeyStateDeprecated, string(k.State)
			}
		}
		return false, "old key gone"
	})
	for _, p := range []string{"project/db", "other/thing"} {
		if _, _, err := vars.Read(p, nil); err != nil {
			t.Fatalf("read %s after a full rotation: %v", p, err)
		}
	}
	if _, err := mgmt.Keyring().Delete(&nomad.KeyringDeleteOptions{KeyID: firstKey}, nil); err != nil {
		t.Fatalf("removing the deprecated key: %v", err)
	}
	if r, _, err := vars.Read("project/db", nil); err != nil || r.Items["password"] != "hunter3-compat" {
		t.Fatalf("read after removing the old key = %+v, %v", r, err)
	}

	if _, err := vars.CheckedDelete("project/db", 1, nil); !isCASConflict(err, updated.ModifyIndex) {
		t.Fatalf("CheckedDelete with a stale index: got %v, want a CAS conflict", err)
	}
	if _, err := vars.Delete("project/db", nil); err != nil {
		t.Fatalf("Variables().Delete: %v", err)
	}
	if _, _, err := vars.Read("project/db", nil); !errors.Is(err, nomad.ErrVariablePathNotFound) {
		t.Fatalf("read after delete: got %v, want ErrVariablePathNotFound", err)
	}
}

func isCASConflict(err error, index uint64) bool {
	var c nomad.ErrCASConflict
	return errors.As(err, &c) && c.Conflict != nil && c.Conflict.ModifyIndex == index
}

// sliceFrames is an eventFrames that returns its frames, then ctx's end.
type sliceFrames struct{ frames []structs.Events }

func (s *sliceFrames) Next(ctx context.Context) (structs.Events, error) {
	if len(s.frames) == 0 {
		<-ctx.Done()
		return structs.Events{}, ctx.Err()
	}
	f := s.frames[0]
	s.frames = s.frames[1:]
	return f, nil
}

// TestEventFilterVariables: variable events reach a token only for the
// paths it may list, even with read-job in the namespace.
func TestEventFilterVariables(t *testing.T) {
	p, err := acl.Parse("p", "namespace \"default\" {\n  policy = \"read\"\n  variables {\n    path \"project/*\" { capabilities = [\"list\"] }\n  }\n}\n")
	if err != nil {
		t.Fatal(err)
	}
	a := acl.Compile([]*acl.Policy{p})
	ev := func(key string) structs.Event {
		return structs.Event{Topic: structs.TopicVariables, Type: structs.TypeVariableUpserted, Key: key, Namespace: "default"}
	}
	f := &aclEventFilter{next: &sliceFrames{frames: []structs.Events{{Index: 7, Events: []structs.Event{ev("project/db"), ev("secret/x")}}}},
		namespace: func(ns string) bool { return a.AllowNamespaceOp(ns, acl.NamespaceCapabilityReadJob) },
		pool:      func(string) bool { return false },
		variable:  func(ns, path string) bool { return a.AllowVariableOp(ns, path, acl.VariablesCapabilityList) }}
	got, err := f.Next(context.Background())
	if err != nil || len(got.Events) != 1 || got.Events[0].Key != "project/db" {
		t.Fatalf("filtered frame = %+v, %v; want only project/db", got, err)
	}
}
