package taskenv

import (
	"sort"
	"strings"
)

// Replace interpolates every ${...} reference in s it knows; unknown ones
// are left as written.
func (e *Env) Replace(s string) string {
	out, _ := e.replace(s)
	return out
}

// lookup resolves one reference (the text between "${" and "}").
func (e *Env) lookup(ref string) (string, bool) {
	ref = strings.TrimSpace(ref)
	if v, ok := e.vars[ref]; ok {
		return v, true
	}
	if name, ok := strings.CutPrefix(ref, "env."); ok {
		v, found := e.vars[name]
		return v, found
	}
	v, ok := e.node[ref]
	return v, ok
}

func (e *Env) replace(s string) (string, []string) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	var unknown []string
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			b.WriteString(s)
			break
		}
		ref := s[i+2 : i+j]
		b.WriteString(s[:i])
		if v, ok := e.lookup(ref); ok {
			b.WriteString(v)
		} else {
			b.WriteString(s[i : i+j+1])
			unknown = append(unknown, ref)
		}
		s = s[i+j+1:]
	}
	return b.String(), unknown
}

// ReplaceConfig returns a deep copy of cfg with every string, at any depth
// (maps and lists included), interpolated.
func (e *Env) ReplaceConfig(cfg map[string]any) map[string]any {
	out, _ := e.ReplaceConfigUnresolved(cfg)
	return out
}

// ReplaceConfigUnresolved is ReplaceConfig that also returns the references
// it could not resolve, sorted and without duplicates, so the caller can warn.
func (e *Env) ReplaceConfigUnresolved(cfg map[string]any) (map[string]any, []string) {
	seen := map[string]bool{}
	v := e.walk(cfg, seen)
	var unknown []string
	for k := range seen {
		unknown = append(unknown, k)
	}
	sort.Strings(unknown)
	m, _ := v.(map[string]any)
	return m, unknown
}

func (e *Env) walk(v any, unknown map[string]bool) any {
	switch x := v.(type) {
	case string:
		s, u := e.replace(x)
		for _, r := range u {
			unknown[r] = true
		}
		return s
	case map[string]any:
		if x == nil {
			return x
		}
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[k] = e.walk(val, unknown)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = e.walk(val, unknown)
		}
		return out
	case []string:
		out := make([]string, len(x))
		for i, val := range x {
			s, u := e.replace(val)
			for _, r := range u {
				unknown[r] = true
			}
			out[i] = s
		}
		return out
	case []map[string]any:
		out := make([]map[string]any, len(x))
		for i, val := range x {
			out[i], _ = e.walk(val, unknown).(map[string]any)
		}
		return out
	}
	return v
}
