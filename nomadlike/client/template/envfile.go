package template

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// lineError is a problem on one line of an env file.
type lineError struct {
	line int
	err  error
}

func (e *lineError) Error() string { return fmt.Sprintf("line %d: %v", e.line, e.err) }
func (e *lineError) Unwrap() error { return e.err }

var envKey = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.\-]*$`) })

// ParseEnv reads the KEY=VALUE lines of an env = true template, as Nomad's
// envparse does: blank lines and lines starting with # are skipped, an
// "export " prefix is allowed, values may be "double quoted" (with \n, \t,
// \", \\ escapes) or 'single quoted' (taken literally); an unquoted value
// ends at " #" (a comment) and is trimmed.
func ParseEnv(b []byte) (map[string]string, error) {
	out := map[string]string{}
	for i, raw := range strings.Split(string(b), "\n") {
		line := strings.TrimSpace(strings.TrimSuffix(raw, "\r"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, &lineError{i + 1, fmt.Errorf("%q is not KEY=VALUE", line)}
		}
		k = strings.TrimSpace(k)
		if !envKey().MatchString(k) {
			return nil, &lineError{i + 1, fmt.Errorf("%q is not a valid variable name (letters, digits, '_', '.', '-', not starting with a digit)", k)}
		}
		val, err := envValue(strings.TrimSpace(v))
		if err != nil {
			return nil, &lineError{i + 1, fmt.Errorf("value of %s: %w", k, err)}
		}
		out[k] = val
	}
	return out, nil
}

func envValue(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	switch v[0] {
	case '\'':
		end := strings.IndexByte(v[1:], '\'')
		if end < 0 {
			return "", errors.New("unterminated single quote")
		}
		if rest := strings.TrimSpace(v[end+2:]); rest != "" && !strings.HasPrefix(rest, "#") {
			return "", fmt.Errorf("unexpected %q after the closing quote", rest)
		}
		return v[1 : end+1], nil
	case '"':
		var b strings.Builder
		for i := 1; i < len(v); i++ {
			c := v[i]
			switch {
			case c == '"':
				if rest := strings.TrimSpace(v[i+1:]); rest != "" && !strings.HasPrefix(rest, "#") {
					return "", fmt.Errorf("unexpected %q after the closing quote", rest)
				}
				return b.String(), nil
			case c == '\\' && i+1 < len(v):
				i++
				switch v[i] {
				case 'n':
					b.WriteByte('\n')
				case 't':
					b.WriteByte('\t')
				case 'r':
					b.WriteByte('\r')
				default:
					b.WriteByte(v[i])
				}
			default:
				b.WriteByte(c)
			}
		}
		return "", errors.New("unterminated double quote")
	}
	if i := strings.Index(v, " #"); i >= 0 {
		v = v[:i]
	}
	return strings.TrimSpace(v), nil
}
