package agent

import (
	"context"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestClusterVariablesEveryServerDecrypts: on three servers the leader's
// root keys are wrapped for every server's KEK, so each server decrypts a
// variable locally (?stale reads), after a rotation too, and a new leader
// keeps writing after the old one is stopped.
func TestClusterVariablesEveryServerDecrypts(t *testing.T) {
	servers := startCluster(t, 3, nil)
	leader := waitLeader(t, servers, 3)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	put := func(via *clusterServer, value string) {
		t.Helper()
		v := &structs.VariableDecrypted{VariableMetadata: structs.VariableMetadata{Namespace: "default", Path: "app/db"},
			Items: map[string]string{"password": value}}
		waitFor(t, "a variable write through "+via.name, 30*time.Second, func() (bool, string) {
			_, err := via.api(t).PutVariable(ctx, v, "", nil)
			return err == nil, errString(err)
		})
	}
	readEverywhere := func(want string) {
		t.Helper()
		for _, s := range servers {
			if s.stopped {
				continue
			}
			waitFor(t, s.name+" to decrypt the variable locally", 30*time.Second, func() (bool, string) {
				v, _, err := s.api(t).Variable(ctx, "app/db", &api.QueryOptions{AllowStale: true})
				if err != nil {
					return false, err.Error()
				}
				return v.Items["password"] == want, v.Items["password"]
			})
		}
	}
	put(follower(servers, leader), "one")
	readEverywhere("one")

	if _, err := follower(servers, leader).api(t).RotateRootKey(ctx, true); err != nil {
		t.Fatalf("rotate through a follower: %v", err)
	}
	put(leader, "two")
	readEverywhere("two")

	leader.stop(t)
	next := waitLeader(t, servers, 3) // the stopped one is still a peer
	put(next, "three")
	readEverywhere("three")
	keys, err := next.api(t).RootKeys(ctx)
	if err != nil || len(keys) != 2 {
		t.Fatalf("keys after the failover: %+v, %v", keys, err)
	}
}
