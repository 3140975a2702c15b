package structs

import (
	"crypto/subtle"

	"github.com/google/uuid"
)

// GenerateUUID returns a random UUID. Never call it from FSM apply or the
// state store: IDs are chosen before a write enters the Raft log.
func GenerateUUID() string { return uuid.NewString() }

// SecretsEqual compares two secrets in time that does not depend on how much
// of them matches (crypto/subtle). Never compare secrets with == or !=
// (internal/deptest checks).
func SecretsEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// ShortID returns the first 8 characters of an ID, as the CLI shows it.
func ShortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
