// Package template renders a task's template blocks with Go's text/template,
// as Nomad renders them with consul-template, minus Consul, Vault and Nomad
// Variables, which nomadlike does not have.
//
// Render is a pure function of its Config apart from reading the template's
// source file (and files named by the file function), which it reads through
// an os.Root so they cannot leave the task's directories. Write puts the
// result in place, also through an os.Root: a destination outside the task
// dir (or the allocation's shared alloc dir) is refused, symlinks included.
//
// The functions of consul-template that need no outside service are
// available: env (the task's environment and node.*, attr.*, meta.* keys),
// envOrDefault, file, the string, parsing, encoding and arithmetic helpers.
// Functions that would read Consul, Vault or Nomad Variables (key, service,
// secret, nomadVar, ...) are refused before anything is executed, with the
// line they are on, even in branches that would not run.
//
// Nomad service discovery is served when Config.Services is set (the
// client sets it): nomadService "[tag.]name[@namespace]" ranges over the
// registrations ({{ .Address }}:{{ .Port }}, .Name, .Tags, .AllocID, ...)
// and nomadServices over the registered names and tags. The client's
// source caches each query and keeps it current with blocking queries;
// when a result changes, the alloc runner renders the task's templates
// again and, for a file whose content changed while the task runs, applies
// change_mode (restart, signal with change_signal, or noop) after a random
// delay up to splay (nomadlike/client/allocrunner/template_watch.go).
package template
