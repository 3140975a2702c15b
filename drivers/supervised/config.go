package supervised

import (
	"fmt"
	"slices"
	"sort"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// ConfigDecoder decodes a task's driver config block, collecting one
// structs.FieldError per problem, named config.<key>, so that one
// validation reports every bad key. It is not safe for concurrent use.
type ConfigDecoder struct {
	cfg      map[string]any
	problems []structs.FieldError
}

// NewConfigDecoder returns a decoder of cfg.
func NewConfigDecoder(cfg map[string]any) *ConfigDecoder {
	return &ConfigDecoder{cfg: cfg}
}

// Add records a problem with key.
func (c *ConfigDecoder) Add(key, format string, args ...any) {
	c.problems = append(c.problems, structs.FieldError{Field: "config." + key, Msg: fmt.Sprintf(format, args...)})
}

// String returns key's string value ("" when it is missing or null).
func (c *ConfigDecoder) String(key string) string {
	raw, ok := c.cfg[key]
	if !ok || raw == nil {
		return ""
	}
	s, ok := raw.(string)
	if !ok {
		c.Add(key, "must be a string, got %T", raw)
	}
	return s
}

// List returns key's list of strings (nil when it is missing or null).
func (c *ConfigDecoder) List(key string) []string {
	raw, ok := c.cfg[key]
	if !ok || raw == nil {
		return nil
	}
	l, ok := StringList(raw)
	if !ok {
		c.Add(key, "must be a list of strings")
	}
	return l
}

// Bool returns key's boolean value (false when it is missing or null).
func (c *ConfigDecoder) Bool(key string) bool {
	raw, ok := c.cfg[key]
	if !ok || raw == nil {
		return false
	}
	b, ok := raw.(bool)
	if !ok {
		c.Add(key, "must be true or false, got %T", raw)
	}
	return b
}

// Unknown returns the keys of the block not in known, sorted.
func (c *ConfigDecoder) Unknown(known []string) []string {
	var out []string
	for k := range c.cfg {
		if !slices.Contains(known, k) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// Err returns a *structs.ValidationError with the problems, nil when there
// are none.
func (c *ConfigDecoder) Err() error {
	if len(c.problems) == 0 {
		return nil
	}
	return &structs.ValidationError{Problems: c.problems}
}

// StringList accepts []string or a []any of strings (as JSON and HCL
// decode) and returns a copy.
func StringList(v any) ([]string, bool) {
	switch l := v.(type) {
	case []string:
		return append([]string(nil), l...), true
	case []any:
		out := make([]string, len(l))
		for i, e := range l {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out[i] = s
		}
		return out, true
	default:
		return nil, false
	}
}
