package jobspec

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Parse parses the HCL2 job specification src, naming it filename in
// diagnostics. Variables take their defaults or NOMAD_VAR_<name>
// environment variables. On any problem it returns a *Error listing them all.
func Parse(filename string, src []byte) (*structs.Job, error) {
	return ParseWithVars(filename, src, nil)
}

// ParseFile reads and parses the job specification at path.
func ParseFile(path string) (*structs.Job, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read job specification: %w", err)
	}
	return Parse(path, src)
}

// ParseWithVars is Parse with variable values (name -> value text, as from
// -var name=value). They override defaults and NOMAD_VAR_ environment
// variables. As in Nomad, the text of a string, number, bool or untyped
// variable is taken literally (-var image=redis:7); that of a list, map or
// object variable is parsed as an HCL expression (-var 'ports=[80, 443]').
func ParseWithVars(filename string, src []byte, vars map[string]string) (*structs.Job, error) {
	d := newDecoder()
	job := d.parse(filename, src, vars)
	if d.diags.HasErrors() {
		return nil, newError(d.diags)
	}
	job.Canonicalize()
	if err := job.Validate(); err != nil {
		return nil, newError(d.validationDiags(err))
	}
	return job, nil
}

func newDecoder() *decoder {
	return &decoder{
		ctx:    &hcl.EvalContext{Functions: functions()},
		ranges: map[string]hcl.Range{},
	}
}

var fileSpec = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "job", LabelNames: []string{"id"}},
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "locals"},
	},
}

// parse decodes the file into a job; problems go to d.diags.
func (d *decoder) parse(filename string, src []byte, vars map[string]string) *structs.Job {
	if diag := CheckBounds(filename, src); diag != nil {
		d.diags = append(d.diags, diag)
		return nil
	}
	file, diags := hclsyntax.ParseConfig(src, filename, hcl.Pos{Line: 1, Column: 1, Byte: 0})
	d.diags = append(d.diags, diags...)
	if diags.HasErrors() {
		return nil
	}
	body := file.Body.(*hclsyntax.Body)
	keepRuntimeInterpolations(body, src)
	d.bodies = indexBodies(body)

	c, diags := body.Content(fileSpec)
	d.diags = append(d.diags, diags...)
	var varBlocks, localBlocks, jobBlocks []*hcl.Block
	for _, b := range c.Blocks {
		switch b.Type {
		case "variable":
			varBlocks = append(varBlocks, b)
		case "locals":
			localBlocks = append(localBlocks, b)
		case "job":
			jobBlocks = append(jobBlocks, b)
		}
	}
	d.ctx.Variables = map[string]cty.Value{
		"var": d.decodeVariables(varBlocks, os.Environ(), vars),
	}
	d.ctx.Variables["local"] = d.decodeLocals(localBlocks)

	if len(jobBlocks) == 0 {
		d.diags = append(d.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing job block",
			Detail:   `the file has no job block; a job specification needs one: job "example" { group "g" { task "t" { ... } } }`,
			Subject:  body.SrcRange.Ptr(),
		})
		return nil
	}
	for _, b := range jobBlocks[1:] {
		d.errorf(b.DefRange, "Duplicate job block",
			"only one job block is allowed per file; the first is at line %d", jobBlocks[0].DefRange.Start.Line)
	}
	return d.decodeJob(jobBlocks[0])
}

// validationDiags turns job.Validate's field errors into diagnostics located
// at the closest block decoded from the field path, the job block otherwise.
func (d *decoder) validationDiags(err error) hcl.Diagnostics {
	var ve *structs.ValidationError
	if !errors.As(err, &ve) {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid job", Detail: err.Error(), Subject: d.locate("").Ptr()}}
	}
	var out hcl.Diagnostics
	for _, p := range ve.Problems {
		out = append(out, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid job",
			Detail:   p.String(),
			Subject:  d.locate(p.Field).Ptr(),
		})
	}
	return out
}

// locate returns the range recorded for the longest prefix of field.
func (d *decoder) locate(field string) hcl.Range {
	paths := make([]string, 0, len(d.ranges))
	for p := range d.ranges {
		paths = append(paths, p)
	}
	sort.Slice(paths, func(i, j int) bool { return len(paths[i]) > len(paths[j]) })
	for _, p := range paths {
		if p == "" || field == p || strings.HasPrefix(field, p+".") {
			return d.ranges[p]
		}
	}
	return hcl.Range{}
}
