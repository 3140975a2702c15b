// Package acl is Nomad's ACL policy language: it parses policies (HCL or
// JSON) into rules and compiles the policies of a token into an ACL that
// answers "may this token do X here?".
//
// A policy is a set of rules: namespace "<glob>" { policy, capabilities },
// node_pool and host_volume rules with a label, and node, agent, operator,
// quota and plugin rules with a policy only. Policies combine by union,
// except that deny anywhere wins. A namespace is matched by its exact rule
// first, else by the glob rule that matches the most literal characters.
//
// The package does no I/O and knows no state: callers fetch policies and
// hand them to Compile. An *ACL is immutable and safe for concurrent use.
package acl
