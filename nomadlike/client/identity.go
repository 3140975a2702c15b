package client

import (
	"fmt"

	"github.com/nomadlike/nomadlike/nomadlike/client/clientstate"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// loadIdentity returns the stored node ID and secret, generating and
// persisting them on the first start, so a restarted agent is the same node.
func loadIdentity(db *clientstate.DB) (clientstate.Identity, error) {
	id, err := db.Identity()
	if err != nil {
		return id, err
	}
	if id.NodeID != "" && id.SecretID != "" {
		return id, nil
	}
	id = clientstate.Identity{NodeID: structs.GenerateUUID(), SecretID: structs.GenerateUUID()}
	if err := db.PutIdentity(id); err != nil {
		return id, fmt.Errorf("persist node identity: %w", err)
	}
	return id, nil
}
