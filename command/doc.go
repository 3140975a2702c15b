// Package command is the nomadlike CLI: one file per command (job_run.go,
// alloc_logs.go, ...), built on spf13/cobra.
//
// Contract:
//   - Main(os.Args) runs the CLI and returns the process exit code, as Nomad's
//     CLI does: 0 success, 1 error, 2 when placements failed or allocations
//     failed on `job run` / `job stop`.
//   - Nomad's single-dash long flags (-address=..., -detach) are accepted:
//     normaliseArgs rewrites them to pflag's double-dash form before parsing.
//   - Every command talks to the agent only through nomadlike/api. Watching is
//     done with blocking queries (WaitIndex from the last X-Nomad-Index), never
//     a tight poll loop.
//   - Errors go to stderr as "Error <doing what>: <cause>" followed by a hint
//     of what to do next. Creating an object is not success: `job run` waits
//     until the placed allocations run (or fail) and explains failures in
//     plain words (explain.go) with the failing task's events and stderr.
//   - -json prints the API objects, indented, on stdout.
package command
