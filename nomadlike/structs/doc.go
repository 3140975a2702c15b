// Package structs is nomadlike's data model, shared by the API, the server,
// the scheduler, the client and the drivers.
//
// The JSON encoding of every type follows Nomad's HTTP API (field names in
// Go's default PascalCase, durations as nanoseconds, times as RFC 3339), so
// the official client github.com/hashicorp/nomad/api decodes what nomadlike
// serves and what it sends decodes here. Raft log entries are msgpack encoded
// (see messages.go).
//
// Rules: this package imports nothing of the project; objects read from the
// state store are shared and immutable, so Copy before changing them;
// nothing here does I/O.
package structs
