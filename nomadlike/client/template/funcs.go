package template

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// unavailable maps the consul-template functions that need a service
// nomadlike lacks to what they would read. They are registered (so the
// template parses) and refused by checkFunctions before execution.
var unavailable = map[string]string{}

func init() {
	for why, names := range map[string][]string{
		"reads Consul KV":                     {"key", "keyExists", "keyOrDefault", "ls", "safeLs", "tree", "safeTree"},
		"reads the Consul catalog":            {"service", "services", "connect", "node", "nodes", "checks", "partitions", "peerings", "exportedServices", "byTag", "byMeta"},
		"reads Consul Connect certificates":   {"caLeaf", "caRoots"},
		"reads Vault":                         {"secret", "secrets", "pkiCert"},
		"reads Nomad service discovery":       {"nomadService", "nomadServices"},
		"reads Nomad Variables":               {"nomadVar", "nomadVarList", "nomadVarListSafe", "nomadVarExists"},
		"runs a program on the client's host": {"plugin", "executeTemplate"},
	} {
		for _, n := range names {
			unavailable[n] = why
		}
	}
}

// funcs returns the template functions for cfg.
func funcs(cfg Config) template.FuncMap {
	lookup := cfg.Env
	if lookup == nil {
		lookup = func(string) (string, bool) { return "", false }
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	fm := template.FuncMap{
		// env returns the task's variable (or node.*, attr.*, meta.* key);
		// an unknown name is "", as in Nomad.
		"env": func(name string) string {
			v, _ := lookup(name)
			return v
		},
		"envOrDefault": func(name, def string) string {
			if v, ok := lookup(name); ok && v != "" {
				return v
			}
			return def
		},
		"mustEnv": func(name string) (string, error) {
			if v, ok := lookup(name); ok {
				return v, nil
			}
			return "", fmt.Errorf("environment variable %q is not set for this task", name)
		},
		"file": func(p string) (string, error) {
			interp := cfg.Interpolate
			if interp != nil {
				p = interp(p)
			}
			b, err := readInside(p, cfg.TaskDir, cfg.SharedDir)
			return string(b), err
		},
		"toLower":         strings.ToLower,
		"toUpper":         strings.ToUpper,
		"toTitle":         toTitle,
		"trimSpace":       strings.TrimSpace,
		"trimPrefix":      func(prefix, s string) string { return strings.TrimPrefix(s, prefix) },
		"trimSuffix":      func(suffix, s string) string { return strings.TrimSuffix(s, suffix) },
		"split":           func(sep, s string) []string { return strings.Split(s, sep) },
		"join":            func(sep string, a []string) string { return strings.Join(a, sep) },
		"replaceAll":      func(from, to, s string) string { return strings.ReplaceAll(s, from, to) },
		"indent":          indent,
		"regexMatch":      regexMatch,
		"regexReplaceAll": regexReplaceAll,
		"contains":        func(v, l any) (bool, error) { return in(l, v) },
		"in":              in,
		"containsAll":     func(v, l any) (bool, error) { return containsSet(v, l, true, true) },
		"containsAny":     func(v, l any) (bool, error) { return containsSet(v, l, false, true) },
		"containsNone":    func(v, l any) (bool, error) { return containsSet(v, l, false, false) },
		"containsNotAll":  func(v, l any) (bool, error) { return containsSet(v, l, true, false) },
		"parseBool":       strconv.ParseBool,
		"parseInt":        func(s string) (int64, error) { return strconv.ParseInt(strings.TrimSpace(s), 10, 64) },
		"parseUint":       func(s string) (uint64, error) { return strconv.ParseUint(strings.TrimSpace(s), 10, 64) },
		"parseFloat":      func(s string) (float64, error) { return strconv.ParseFloat(strings.TrimSpace(s), 64) },
		"parseJSON":       parseJSON,
		"toJSON":          toJSON,
		"toJSONPretty":    toJSONPretty,
		"base64Encode":    func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
		"base64Decode":    decode64(base64.StdEncoding),
		"base64URLEncode": func(s string) string { return base64.URLEncoding.EncodeToString([]byte(s)) },
		"base64URLDecode": decode64(base64.URLEncoding),
		"sha256Hex":       func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) },
		"md5sum":          func(s string) string { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) },
		"timestamp":       func(args ...string) (string, error) { return timestamp(now(), args) },
		"loop":            loop,
		"add":             arith("add", func(a, b int64) int64 { return a + b }, func(a, b float64) float64 { return a + b }),
		"subtract":        arith("subtract", func(a, b int64) int64 { return a - b }, func(a, b float64) float64 { return a - b }),
		"multiply":        arith("multiply", func(a, b int64) int64 { return a * b }, func(a, b float64) float64 { return a * b }),
		"divide":          divide,
		"modulo":          modulo,
		"minimum":         arith("minimum", func(a, b int64) int64 { return min(a, b) }, func(a, b float64) float64 { return min(a, b) }),
		"maximum":         arith("maximum", func(a, b int64) int64 { return max(a, b) }, func(a, b float64) float64 { return max(a, b) }),
	}
	for name, why := range unavailable {
		fm[name] = func(...any) (string, error) {
			return "", &unavailableError{name: name, why: why}
		}
	}
	if cfg.Services != nil {
		addServiceFuncs(fm, cfg.Services)
	}
	if cfg.Variables != nil {
		addVariableFuncs(fm, cfg.Variables)
	}
	return fm
}

func toTitle(s string) string {
	words := strings.Fields(s)
	for i, w := range words {
		words[i] = strings.ToUpper(w[:1]) + w[1:]
	}
	return strings.Join(words, " ")
}

// indent prefixes every line of s with n spaces.
func indent(n int, s string) (string, error) {
	if n < 0 {
		return "", fmt.Errorf("indent: cannot indent by %d spaces", n)
	}
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(s, "\n", "\n"+pad), nil
}

func regexMatch(re, s string) (bool, error) {
	r, err := regexp.Compile(re)
	if err != nil {
		return false, fmt.Errorf("regexMatch: %w", err)
	}
	return r.MatchString(s), nil
}

func regexReplaceAll(re, repl, s string) (string, error) {
	r, err := regexp.Compile(re)
	if err != nil {
		return "", fmt.Errorf("regexReplaceAll: %w", err)
	}
	return r.ReplaceAllString(s, repl), nil
}

// in reports whether l (a string or a list) contains v.
func in(l, v any) (bool, error) {
	if ls, ok := l.(string); ok {
		vs, ok := v.(string)
		if !ok {
			return false, fmt.Errorf("in: cannot look for a %T in a string", v)
		}
		return strings.Contains(ls, vs), nil
	}
	rv := reflect.ValueOf(l)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		for i := range rv.Len() {
			if reflect.DeepEqual(rv.Index(i).Interface(), v) {
				return true, nil
			}
		}
		return false, nil
	case reflect.Map:
		for _, k := range rv.MapKeys() {
			if reflect.DeepEqual(k.Interface(), v) {
				return true, nil
			}
		}
		return false, nil
	}
	return false, fmt.Errorf("in: cannot look into a %T; use a string, list or map", l)
}

// containsSet checks the elements of v against l: all (or any) of them
// present, negated when want is false.
func containsSet(v, l any, all, want bool) (bool, error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return false, fmt.Errorf("expected a list of values to look for, got %T", v)
	}
	hits := 0
	for i := range rv.Len() {
		ok, err := in(l, rv.Index(i).Interface())
		if err != nil {
			return false, err
		}
		if ok {
			hits++
		}
	}
	got := hits > 0
	if all {
		got = hits == rv.Len()
	}
	return got == want, nil
}

func parseJSON(s string) (any, error) {
	if strings.TrimSpace(s) == "" {
		return map[string]any{}, nil
	}
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, fmt.Errorf("parseJSON: %w", err)
	}
	return v, nil
}

func toJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("toJSON: %w", err)
	}
	return string(b), nil
}

func toJSONPretty(v any) (string, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return "", fmt.Errorf("toJSONPretty: %w", err)
	}
	return string(b), nil
}

func decode64(enc *base64.Encoding) func(string) (string, error) {
	return func(s string) (string, error) {
		b, err := enc.DecodeString(s)
		if err != nil {
			return "", fmt.Errorf("base64 decode: %w", err)
		}
		return string(b), nil
	}
}

// timestamp formats now: RFC 3339 in UTC by default, "unix" for seconds,
// or a Go time layout.
func timestamp(now time.Time, args []string) (string, error) {
	switch len(args) {
	case 0:
		return now.UTC().Format(time.RFC3339), nil
	case 1:
		if args[0] == "unix" {
			return strconv.FormatInt(now.Unix(), 10), nil
		}
		return now.UTC().Format(args[0]), nil
	}
	return "", fmt.Errorf("timestamp: takes at most one argument (a layout or \"unix\"), got %d", len(args))
}

// loop returns the integers [0, n) for one argument, [a, b) for two.
func loop(args ...int) ([]int, error) {
	var lo, hi int
	switch len(args) {
	case 1:
		hi = args[0]
	case 2:
		lo, hi = args[0], args[1]
	default:
		return nil, fmt.Errorf("loop: takes one or two integers, got %d", len(args))
	}
	if hi-lo > 1_000_000 {
		return nil, fmt.Errorf("loop: %d iterations is too many", hi-lo)
	}
	var out []int
	for i := lo; i < hi; i++ {
		out = append(out, i)
	}
	return out, nil
}

// number converts a template value to an int64 or a float64.
func number(fn string, v any) (int64, float64, bool, error) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), 0, false, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int64(rv.Uint()), 0, false, nil
	case reflect.Float32, reflect.Float64:
		return 0, rv.Float(), true, nil
	case reflect.String:
		if i, err := strconv.ParseInt(rv.String(), 10, 64); err == nil {
			return i, 0, false, nil
		}
		if f, err := strconv.ParseFloat(rv.String(), 64); err == nil {
			return 0, f, true, nil
		}
	}
	return 0, 0, false, fmt.Errorf("%s: %v (%T) is not a number", fn, v, v)
}

// arith builds a consul-template math function. As there, the piped value
// comes last: {{ 2 | add 3 }} is a=2, b=3; subtract b a is a - b.
func arith(fn string, ints func(a, b int64) int64, floats func(a, b float64) float64) func(b, a any) (any, error) {
	return func(b, a any) (any, error) {
		ai, af, aFloat, err := number(fn, a)
		if err != nil {
			return nil, err
		}
		bi, bf, bFloat, err := number(fn, b)
		if err != nil {
			return nil, err
		}
		if !aFloat && !bFloat {
			return ints(ai, bi), nil
		}
		if !aFloat {
			af = float64(ai)
		}
		if !bFloat {
			bf = float64(bi)
		}
		return floats(af, bf), nil
	}
}

var errDivideByZero = errors.New("division by zero")

func divide(b, a any) (any, error) {
	if z, _ := isZero(b); z {
		return nil, fmt.Errorf("divide: %w", errDivideByZero)
	}
	return arith("divide", func(a, b int64) int64 { return a / b }, func(a, b float64) float64 { return a / b })(b, a)
}

func modulo(b, a any) (any, error) {
	if z, _ := isZero(b); z {
		return nil, fmt.Errorf("modulo: %w", errDivideByZero)
	}
	_, _, aFloat, err := number("modulo", a)
	if err != nil {
		return nil, err
	}
	_, _, bFloat, err := number("modulo", b)
	if err != nil {
		return nil, err
	}
	if aFloat || bFloat {
		return nil, errors.New("modulo: needs whole numbers")
	}
	return arith("modulo", func(a, b int64) int64 { return a % b }, nil)(b, a)
}

func isZero(v any) (bool, error) {
	i, f, isFloat, err := number("", v)
	if err != nil {
		return false, err
	}
	if isFloat {
		return f == 0, nil
	}
	return i == 0, nil
}
