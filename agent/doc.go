// Package agent is the nomadlike agent process: its HCL configuration, the
// wiring of a server and a client in one process, and the HTTP API.
//
// Contract:
//
//   - Config holds the agent's settings. LoadConfig reads Nomad-format HCL
//     (or JSON) files and directories; later files override earlier ones and
//     unknown keys are errors naming file:line:col. DevConfig is the
//     zero-setup configuration of `nomadlike agent -dev`.
//   - Agent.Start starts the server (if enabled) and waits, bounded, for a
//     leader; then the HTTP listener; then the client (if enabled), pointed
//     at this agent's own HTTP address when the server runs here too.
//     Agent.Shutdown stops them in reverse: client first (its tasks keep
//     running), then HTTP (in-flight blocking queries and log streams end),
//     then the server.
//   - HTTPServer serves Nomad's /v1 API. Every request passes one middleware
//     chain (logging, panic recovery, body limit, authentication); handlers
//     return (any, error) and one wrapper encodes JSON, sets the X-Nomad-*
//     headers and maps errors to status codes with errors.As/errors.Is, never
//     by matching message text. The HTTP layer holds no business logic: it
//     calls the server (ServerAPI) and the local client (ClientAPI) through
//     small interfaces defined here.
package agent
