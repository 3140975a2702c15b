package jobspec

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Features of Nomad that nomadlike does not have, by block or argument
// name: what the feature is and what to use instead. A job using one is a
// valid Nomad job that nomadlike cannot run: `job run` refuses it at the
// feature's position; `job validate` reports it as an unsupported feature,
// apart from the job's real errors (ValidateWithVars).
var featureHints = map[string]string{
	"vault": "Vault is not supported by nomadlike; keep secrets in Nomad variables " +
		"('nomadlike var put nomad/jobs/<job> key=value') and read them in a template with {{ with nomadVar \"nomad/jobs/<job>\" }}",
	"vault_token":     "Vault is not supported by nomadlike; remove it and keep secrets in Nomad variables, read with nomadVar in templates",
	"vault_namespace": "Vault is not supported by nomadlike; remove it and keep secrets in Nomad variables, read with nomadVar in templates",
	"vault_grace":     "Vault is not supported by nomadlike; remove it (templates read Nomad variables with nomadVar)",
	"consul": "Consul is not supported by nomadlike; use native service discovery (service { provider = \"nomad\" }), " +
		"read with nomadService in templates, and the built-in DNS names <service>.service.nomad",
	"consul_token":     "Consul is not supported by nomadlike; remove it (services use provider = \"nomad\")",
	"consul_namespace": "Consul is not supported by nomadlike; remove it (services use provider = \"nomad\")",
	"connect": "Consul Connect is not supported by nomadlike; give the group network { mode = \"bridge\" } and reach the " +
		"service by its native registration (nomadService in a template, or <service>.service.nomad in DNS)",
	"csi_plugin": "CSI is not supported by nomadlike (there are no CSI plugins); use host volumes: a client " +
		"host_volume \"name\" { path = ... } and volume { type = \"host\" source = \"name\" } in the group",
	"csi": "CSI volumes are not supported by nomadlike (there are no CSI plugins); use type = \"host\" with a " +
		"client's host_volume of the same source name",
	"provider_consul": "Consul is not supported by nomadlike; use provider = \"nomad\" (Nomad's built-in service discovery, " +
		"read with nomadService in templates and resolvable as <service>.service.nomad)",
}

// unsupportedFeature marks a diagnostic (in its Extra) as a Nomad feature
// nomadlike does not have, rather than a mistake in the job.
type unsupportedFeature struct{ name string }

// feature reports the unsupported feature name (a featureHints key) at r.
func (d *decoder) feature(r hcl.Range, name string) {
	d.diags = append(d.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Unsupported feature",
		Detail:   featureHints[name],
		Subject:  r.Ptr(),
		Extra:    unsupportedFeature{name: name},
	})
}

// isFeature reports whether diag is an unsupported feature.
func isFeature(diag *hcl.Diagnostic) bool {
	_, ok := diag.Extra.(unsupportedFeature)
	return ok
}

// Features returns the diagnostics of e that are Nomad features nomadlike
// does not support (Consul, Connect, Vault, CSI); the rest are mistakes.
func (e *Error) Features() hcl.Diagnostics {
	var out hcl.Diagnostics
	for _, d := range e.Diags {
		if isFeature(d) {
			out = append(out, d)
		}
	}
	return out
}

// ValidateWithVars parses src as ParseWithVars does, except that Nomad
// features nomadlike does not support do not stop it: they come back as
// features, one "file:line:col: Unsupported feature: what; use instead"
// line each, and the job is returned
// without them (CSI volumes and their mounts dropped, Consul providers
// set to "nomad"), canonicalized and validated, so that every other
// problem is reported too (err, a *Error).
func ValidateWithVars(filename string, src []byte, vars map[string]string) (*structs.Job, []string, error) {
	d := newDecoder()
	d.lenient = true
	job := d.parse(filename, src, vars)
	var found, rest hcl.Diagnostics
	for _, diag := range d.diags {
		if isFeature(diag) {
			found = append(found, diag)
		} else {
			rest = append(rest, diag)
		}
	}
	var features []string
	if found != nil {
		for _, diag := range newError(found).Diags {
			features = append(features, formatDiag(diag))
		}
	}
	if rest.HasErrors() {
		return nil, features, newError(rest)
	}
	job.Canonicalize()
	if err := job.Validate(); err != nil {
		return nil, features, newError(d.validationDiags(err))
	}
	return job, features, nil
}
