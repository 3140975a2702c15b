// Package jobspec turns Nomad job specifications written in HCL2 into
// *structs.Job.
//
// Contract:
//
//   - Parse, ParseFile and ParseWithVars accept the HCL2 syntax of Nomad's job
//     specification (job, group, task, constraint, affinity, spread, network,
//     restart, reschedule, ephemeral_disk, resources, logs, meta, env,
//     config, lifecycle, template, artifact, dispatch_payload, update,
//     migrate, periodic, parameterized, max_client_disconnect and
//     disconnect { lost_after }), dynamic blocks wherever blocks are allowed
//     (hcl's dynblock: for_each, iterator, labels, content, nested), plus
//     variable blocks (with -var values and NOMAD_VAR_<name> environment
//     variables), locals and a library of functions.
//   - Blocks that have job-level and group-level forms (update, migrate,
//     reschedule) decode the group's block over the job's, and the job's over
//     Nomad's defaults, so a block fills the fields it leaves out as Nomad's
//     API client does (update: max_parallel 1, health_check "checks",
//     min_healthy_time 10s, healthy_deadline 5m, progress_deadline 10m,
//     stagger 30s; migrate: max_parallel 1, "checks", 10s, 5m). Groups without
//     a migrate or reschedule block inherit the job's.
//   - Every problem is reported, never ignored: unknown attributes and blocks
//     (with a did-you-mean suggestion), Nomad blocks nomadlike does not
//     support yet, wrong types, bad durations, bad constraint operators and
//     the problems job.Validate finds. All come back in one *Error whose text
//     is one "file:line:col: summary: detail" line per problem.
//   - Interpolations the Nomad client resolves at run time (${attr.*},
//     ${node.*}, ${meta.*}, ${device.*}, ${NOMAD_*} and other upper-case
//     environment variable names) are kept as literal "${...}" text, and so
//     is, as Nomad does, a bare name in a string that is no variable or
//     local value of the file ("${scheme}" in an nginx config); a dotted
//     unknown name ("${vr.image}") is an error.
//   - A job returned without error is canonicalized (defaults filled in) and
//     has passed job.Validate.
//   - Driver config blocks are decoded generically into map[string]any:
//     strings, int for integral numbers and float64 otherwise, bool, []any
//     for lists, map[string]any for objects, and every nested block as a
//     []any of map[string]any (even when it appears once), as Nomad does.
//
// The package imports only structs, hcl/v2 and go-cty; it does no I/O except
// ParseFile reading its file and the parser reading NOMAD_VAR_ variables from
// the process environment.
package jobspec
