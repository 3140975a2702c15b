package jobspec

import (
	"bytes"
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

// Bounds on a job specification, checked before the HCL parser runs: the
// parser recurses once per nesting level, and 60,000 levels overflow the
// stack and kill the agent.
const (
	// MaxNesting bounds how deep blocks, brackets, parentheses, strings and
	// template interpolations (${...}, %{...}) nest.
	MaxNesting = 100
	// MaxSourceBytes bounds the size of a job specification (8 MiB).
	MaxSourceBytes = 8 << 20
)

// CheckBounds returns a diagnostic when src is larger than MaxSourceBytes
// or nests deeper than MaxNesting, naming the place; nil when it is within.
// It reads src as HCL native syntax without parsing it.
func CheckBounds(filename string, src []byte) *hcl.Diagnostic {
	if len(src) > MaxSourceBytes {
		return &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Job specification too large",
			Detail:   fmt.Sprintf("the file is %d bytes; the limit is %d: move large data (templates, artifacts) out of the job file", len(src), MaxSourceBytes),
			Subject:  &hcl.Range{Filename: filename, Start: hcl.InitialPos, End: hcl.InitialPos},
		}
	}
	off := nestingOverflow(src, MaxNesting)
	if off < 0 {
		return nil
	}
	pos := posAt(src, off)
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Nesting too deep",
		Detail:   fmt.Sprintf("blocks, brackets, parentheses, strings and ${...} interpolations nest more than %d deep here; flatten the specification", MaxNesting),
		Subject:  &hcl.Range{Filename: filename, Start: pos, End: pos},
	}
}

// posAt returns the line and column of byte offset off in src.
func posAt(src []byte, off int) hcl.Pos {
	line := 1 + bytes.Count(src[:off], []byte("\n"))
	col := off + 1
	if nl := bytes.LastIndexByte(src[:off], '\n'); nl >= 0 {
		col = off - nl
	}
	return hcl.Pos{Line: line, Column: col, Byte: off}
}

// Lexical contexts of nestingOverflow's stack.
const (
	ctxBracket  = iota // inside { [ (: expressions and blocks
	ctxTemplate        // inside ${ or %{ in a string or heredoc: an expression
	ctxString          // inside "..."
	ctxHeredoc         // inside <<EOF ... EOF
)

// nestingOverflow scans HCL native syntax and returns the offset at which
// the nesting first exceeds max, or -1. It follows strings, comments,
// heredocs and template interpolations so that braces in text do not count
// while ${ ... } inside strings does. Malformed input is scanned leniently:
// the parser reports it.
func nestingOverflow(src []byte, max int) int {
	var stack []int
	var markers [][]byte // heredoc end markers, one per ctxHeredoc on stack
	push := func(c int) bool {
		stack = append(stack, c)
		return len(stack) > max
	}
	pop := func() {
		if len(stack) > 0 {
			if stack[len(stack)-1] == ctxHeredoc {
				markers = markers[:len(markers)-1]
			}
			stack = stack[:len(stack)-1]
		}
	}
	top := func() int {
		if len(stack) == 0 {
			return ctxBracket
		}
		return stack[len(stack)-1]
	}
	at := func(i int, s string) bool { return bytes.HasPrefix(src[i:], []byte(s)) }
	lineStart := true
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch top() {
		case ctxBracket, ctxTemplate:
			switch {
			case c == '#' || at(i, "//"):
				for i < len(src) && src[i] != '\n' {
					i++
				}
				i-- // the newline is seen next round
			case at(i, "/*"):
				end := bytes.Index(src[i+2:], []byte("*/"))
				if end < 0 {
					return -1
				}
				i += 2 + end + 1
			case c == '"':
				if push(ctxString) {
					return i
				}
			case at(i, "<<"):
				j := i + 2
				if j < len(src) && src[j] == '-' {
					j++
				}
				k := j
				for k < len(src) && (isIdentByte(src[k])) {
					k++
				}
				if k == j {
					continue // not a heredoc; the parser says so
				}
				markers = append(markers, src[j:k])
				if push(ctxHeredoc) {
					return i
				}
				for k < len(src) && src[k] != '\n' {
					k++
				}
				i = k // the newline: the heredoc's first line starts after it
				lineStart = true
				continue
			case c == '{' || c == '[' || c == '(':
				if push(ctxBracket) {
					return i
				}
			case c == '}' || c == ']' || c == ')':
				pop()
			}
		case ctxString:
			switch {
			case c == '\\':
				i++
			case c == '"' || c == '\n':
				pop()
			case at(i, "$${") || at(i, "%%{"):
				i += 2
			case at(i, "${") || at(i, "%{"):
				if push(ctxTemplate) {
					return i
				}
				i++
			}
		case ctxHeredoc:
			if lineStart {
				end := bytes.IndexByte(src[i:], '\n')
				if end < 0 {
					end = len(src) - i
				}
				if bytes.Equal(bytes.TrimSpace(src[i:i+end]), markers[len(markers)-1]) {
					pop()
					i += end - 1
					lineStart = false
					continue
				}
			}
			switch {
			case at(i, "$${") || at(i, "%%{"):
				i += 2
			case at(i, "${") || at(i, "%{"):
				if push(ctxTemplate) {
					return i
				}
				i++
			}
		}
		lineStart = i < len(src) && src[i] == '\n'
	}
	return -1
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
