// Package template renders a task's template blocks with Go's text/template,
// as Nomad renders them with consul-template, minus Consul, Vault and Nomad
// service discovery and Variables, which nomadlike does not have.
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
// Functions that would read Consul, Vault or Nomad services and Variables
// (key, service, secret, nomadVar, ...) are refused before anything is
// executed, with the line they are on, even in branches that would not run.
//
// A template is rendered once for each start of the task: there is no data
// source that could change while the task runs, so change_mode never fires.
package template
