// Package taskenv builds a task's environment as Nomad does (NOMAD_ALLOC_ID,
// NOMAD_TASK_DIR, NOMAD_PORT_<label>, NOMAD_META_<key>, ...) and interpolates
// ${...} references in the task's env values and driver config:
// ${NOMAD_*} and other task variables, ${env.X}, ${node.unique.id},
// ${node.unique.name}, ${node.datacenter}, ${node.class}, ${node.region},
// ${attr.X} and ${meta.X}. An unknown reference is left as written and
// reported by Env.Unresolved, so the caller can tell the user.
//
// Build is a pure function of its Input: no I/O, no clock.
package taskenv
