// Package jobspec turns Nomad job specifications written in HCL2 into
// *structs.Job.
//
// Contract:
//
//   - Parse, ParseFile and ParseWithVars accept the HCL2 syntax of Nomad's job
//     specification (job, group, task, constraint, network, restart,
//     reschedule, ephemeral_disk, resources, logs, meta, env, config), plus
//     variable blocks (with -var values and NOMAD_VAR_<name> environment
//     variables), locals and a library of functions.
//   - Every problem is reported, never ignored: unknown attributes and blocks
//     (with a did-you-mean suggestion), Nomad blocks nomadlike does not
//     support yet, wrong types, bad durations, bad constraint operators and
//     the problems job.Validate finds. All come back in one *Error whose text
//     is one "file:line:col: summary: detail" line per problem.
//   - Interpolations the Nomad client resolves at run time (${attr.*},
//     ${node.*}, ${meta.*}, ${device.*}, ${NOMAD_*} and other upper-case
//     environment variable names) are kept as literal "${...}" text.
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
