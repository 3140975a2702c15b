package agent

import (
	"net/http"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/nomadlike/nomadlike/jobspec"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// jobsParse is PUT /v1/jobs/parse: HCL job source to the JSON job. Syntax
// and decoding errors are 400s naming file:line:col.
func (s *HTTPServer) jobsParse(_ http.ResponseWriter, r *http.Request) (any, error) {
	var req structs.JobsParseRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if req.JobHCL == "" {
		return nil, structs.NewBadRequest("JobHCL is empty: send {\"JobHCL\": \"job \\\"example\\\" { ... }\"}")
	}
	if s.cfg.ParseJob == nil {
		return nil, &structs.CodedError{Code: http.StatusNotImplemented, Msg: "this agent has no job parser configured"}
	}
	vars, err := parseVarFile(req.Variables)
	if err != nil {
		return nil, err
	}
	job, err := s.cfg.ParseJob("input.hcl", []byte(req.JobHCL), vars)
	if err != nil {
		return nil, &structs.CodedError{Code: http.StatusBadRequest, Msg: "parse job", Err: err}
	}
	if req.Canonicalize {
		job.Canonicalize()
	}
	return job, nil
}

// parseVarFile reads the Variables field of /v1/jobs/parse, a var file
// (`name = "value"` lines), into variable values as strings.
func parseVarFile(src string) (map[string]string, error) {
	if src == "" {
		return nil, nil
	}
	if diag := jobspec.CheckBounds("variables.hcl", []byte(src)); diag != nil {
		return nil, &structs.CodedError{Code: http.StatusBadRequest, Msg: "parse Variables", Err: diagError(hcl.Diagnostics{diag})}
	}
	f, diags := hclsyntax.ParseConfig([]byte(src), "variables.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		return nil, &structs.CodedError{Code: http.StatusBadRequest, Msg: "parse Variables", Err: diagError(diags)}
	}
	attrs, diags := f.Body.JustAttributes()
	if diags.HasErrors() {
		return nil, &structs.CodedError{Code: http.StatusBadRequest, Msg: "parse Variables", Err: diagError(diags)}
	}
	out := make(map[string]string, len(attrs))
	for name, a := range attrs {
		v, diags := a.Expr.Value(nil)
		if diags.HasErrors() {
			return nil, &structs.CodedError{Code: http.StatusBadRequest, Msg: "parse Variables", Err: diagError(diags)}
		}
		str, err := ctyString(v)
		if err != nil {
			return nil, structs.NewBadRequest("%s: variable %q: %v", loc(a.Expr.Range()), name, err)
		}
		out[name] = str
	}
	return out, nil
}
