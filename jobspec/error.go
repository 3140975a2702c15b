package jobspec

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Error is every problem found in a job specification. Its text holds one
// line per problem, "file:line:col: summary: detail", sorted by position.
// It unwraps to a *structs.CodedError with status 400, so the HTTP layer
// reports it as a user mistake.
type Error struct {
	// Diags are the diagnostics, errors and warnings, sorted by position.
	Diags hcl.Diagnostics
}

func newError(diags hcl.Diagnostics) *Error {
	d := slices.Clone(diags)
	slices.SortStableFunc(d, func(a, b *hcl.Diagnostic) int {
		ar, br := diagRange(a), diagRange(b)
		return cmp.Or(
			cmp.Compare(ar.Filename, br.Filename),
			cmp.Compare(ar.Start.Line, br.Start.Line),
			cmp.Compare(ar.Start.Column, br.Start.Column),
		)
	})
	// Drop exact duplicates, which HCL produces when the same expression is
	// evaluated twice.
	d = slices.CompactFunc(d, func(a, b *hcl.Diagnostic) bool {
		return formatDiag(a) == formatDiag(b)
	})
	return &Error{Diags: d}
}

func diagRange(d *hcl.Diagnostic) hcl.Range {
	if d.Subject != nil {
		return *d.Subject
	}
	if d.Context != nil {
		return *d.Context
	}
	return hcl.Range{}
}

func formatDiag(d *hcl.Diagnostic) string {
	var b strings.Builder
	r := diagRange(d)
	switch {
	case r.Filename != "" && r.Start.Line > 0:
		fmt.Fprintf(&b, "%s:%d:%d: ", r.Filename, r.Start.Line, r.Start.Column)
	case r.Filename != "":
		fmt.Fprintf(&b, "%s: ", r.Filename)
	}
	if d.Severity == hcl.DiagWarning {
		b.WriteString("warning: ")
	}
	b.WriteString(d.Summary)
	if d.Detail != "" {
		b.WriteString(": ")
		b.WriteString(d.Detail)
	}
	return b.String()
}

// Error renders every diagnostic, one per line.
func (e *Error) Error() string {
	lines := make([]string, len(e.Diags))
	for i, d := range e.Diags {
		lines[i] = formatDiag(d)
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the error as a 400 *structs.CodedError.
func (e *Error) Unwrap() error {
	return &structs.CodedError{Code: http.StatusBadRequest, Msg: "job specification: " + e.Error()}
}
