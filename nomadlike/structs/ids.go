package structs

import "github.com/google/uuid"

// GenerateUUID returns a random UUID. Never call it from FSM apply or the
// state store: IDs are chosen before a write enters the Raft log.
func GenerateUUID() string { return uuid.NewString() }

// ShortID returns the first 8 characters of an ID, as the CLI shows it.
func ShortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
