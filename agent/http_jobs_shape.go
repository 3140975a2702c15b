package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// jobShapeOf reads, from a request body the typed decode accepted, what
// decodeJobBody needs to know besides the typed values (jobShape): which
// keys of the defaulted blocks hold a value, the job-level reschedule and
// migrate blocks, and each group's Count and Scaling keys. It walks only
// the objects on the way to those keys and skips every other value by its
// brackets and quotes: one light pass, where a second encoding/json decode
// of the body scanned every byte twice through its state machine (once to
// find the value's end, once to decode it) and each group was parsed a
// third time by its UnmarshalJSON.
//
// The body is valid JSON and its values have the types the typed decode
// wanted, so the walk meets no syntax error; it returns one, never panics,
// should it meet any. It reads keys as encoding/json matches them to
// fields: escapes unquoted, case folded, and a key given twice decoded
// twice into the same place (an object merged into the one before it, a
// list reusing the elements before it), as the typed decode did.
func jobShapeOf(body []byte) (*jobShape, error) {
	s := &shapeScan{b: body}
	if s.peek() != '{' {
		return nil, nil // null: the typed decode found no job either
	}
	var job *jobShape
	err := s.object(func(key []byte, esc bool) error {
		if !keyIs(key, esc, jobKey) {
			return s.skip()
		}
		if s.null() {
			job = nil
			return nil
		}
		if job == nil {
			job = new(jobShape)
		}
		return s.job(job)
	})
	return job, err
}

// errShape is a body the walk did not expect: the typed decode accepted
// it, so this is a bug.
var errShape = errors.New("request body: unexpected JSON in the second pass over the job (this is a bug)")

// shapeScan walks a JSON document from i.
type shapeScan struct {
	b []byte
	i int
}

func (s *shapeScan) peek() byte {
	for s.i < len(s.b) {
		switch c := s.b[s.i]; c {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return c
		}
	}
	return 0
}

// null consumes a null literal, if one is next.
func (s *shapeScan) null() bool {
	if s.peek() == 'n' && bytes.HasPrefix(s.b[s.i:], []byte("null")) {
		s.i += 4
		return true
	}
	return false
}

// str consumes a string and returns its bytes between the quotes, escapes
// as sent, and whether it has any.
func (s *shapeScan) str() ([]byte, bool, error) {
	if s.peek() != '"' {
		return nil, false, errShape
	}
	start := s.i + 1
	for j := start; j < len(s.b); {
		q := bytes.IndexByte(s.b[j:], '"')
		if q < 0 {
			break
		}
		end := j + q
		// The quote is escaped when an odd number of backslashes precede it.
		n := 0
		for k := end - 1; k >= start && s.b[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			s.i = end + 1
			return s.b[start:end], bytes.IndexByte(s.b[start:end], '\\') >= 0, nil
		}
		j = end + 1
	}
	return nil, false, errShape
}

// skip consumes one value of any kind.
func (s *shapeScan) skip() error {
	switch s.peek() {
	case '"':
		_, _, err := s.str()
		return err
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				if _, _, err := s.str(); err != nil {
					return err
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i++
					return nil
				}
			}
			s.i++
		}
		return errShape
	case 0, ',', ':', '}', ']':
		return errShape
	default: // a number, true, false or null
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return nil
			}
			s.i++
		}
		return nil
	}
}

// object consumes an object, calling field for each key with the scan at
// the key's value, which field must consume.
func (s *shapeScan) object(field func(key []byte, esc bool) error) error {
	if s.peek() != '{' {
		return errShape
	}
	s.i++
	if s.peek() == '}' {
		s.i++
		return nil
	}
	for {
		key, esc, err := s.str()
		if err != nil {
			return err
		}
		if s.peek() != ':' {
			return errShape
		}
		s.i++
		if err := field(key, esc); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return errShape
		}
	}
}

// list consumes an array into *v as encoding/json decodes one into a
// slice: elements decoded into those already there (a key given twice,
// even those past the length within the capacity), the length set to the
// array's, an empty array making a new empty slice, null setting it to nil.
func list[T any](s *shapeScan, v *[]T, elem func(*T) error) error {
	if s.null() {
		*v = nil
		return nil
	}
	if s.peek() != '[' {
		return errShape
	}
	s.i++
	xs := *v
	i := 0
	if s.peek() == ']' {
		s.i++
	} else {
		for {
			if i >= len(xs) {
				if i < cap(xs) {
					xs = xs[:i+1]
				} else {
					var zero T
					xs = append(xs, zero)
				}
			}
			if err := elem(&xs[i]); err != nil {
				return err
			}
			i++
			if c := s.peek(); c == ',' {
				s.i++
				continue
			} else if c == ']' {
				s.i++
				break
			}
			return errShape
		}
	}
	if i == 0 {
		xs = []T{} // a new slice, as encoding/json makes for []
	}
	*v = xs[:i]
	return nil
}

// set reports whether the next value is not null, and consumes it.
func (s *shapeScan) set() (bool, error) {
	if s.null() {
		return false, nil
	}
	return true, s.skip()
}

// keys consumes a block into the setKeys *k points to (allocated for an
// object, nil for null; an object given twice merges into the first).
func (s *shapeScan) keys(k **setKeys) error {
	if s.null() {
		*k = nil
		return nil
	}
	if *k == nil {
		*k = new(setKeys)
	}
	kv := reflect.ValueOf(*k).Elem()
	return s.object(func(key []byte, esc bool) error {
		i := setKeyNames.index(key, esc)
		if i < 0 {
			return s.skip()
		}
		v, err := s.set()
		kv.Field(i).SetBool(v)
		return err
	})
}

// raw consumes a value and returns its bytes.
func (s *shapeScan) raw() (json.RawMessage, error) {
	s.peek()
	start := s.i
	if err := s.skip(); err != nil {
		return nil, err
	}
	return json.RawMessage(s.b[start:s.i]), nil
}

// Keys of the objects the walk reads, as jobShape's and groupShape's
// fields name them.
var (
	jobShapeKeys   = newKeyTable("Periodic", "Update", "Reschedule", "Migrate", "TaskGroups")
	groupShapeKeys = newKeyTable("Update", "ReschedulePolicy", "Migrate", "RestartPolicy", "EphemeralDisk", "Tasks", "Count", "Scaling")
	scalingKeys    = newKeyTable("Min", "Max", "Enabled")
	jobKey         = newKeyTable("Job")
	killTimeoutKey = newKeyTable("KillTimeout")
	setKeyNames    = func() keyTable {
		t := reflect.TypeFor[setKeys]()
		names := make([]string, t.NumField())
		for i := range names {
			names[i] = t.Field(i).Name
		}
		return newKeyTable(names...)
	}()
)

func (s *shapeScan) job(j *jobShape) error {
	return s.object(func(key []byte, esc bool) error {
		var err error
		switch jobShapeKeys.index(key, esc) {
		case 0:
			err = s.keys(&j.Periodic)
		case 1:
			err = s.keys(&j.Update)
		case 2:
			j.Reschedule, err = s.raw()
		case 3:
			j.Migrate, err = s.raw()
		case 4:
			err = list(s, &j.TaskGroups, func(g *groupShape) error {
				if s.null() {
					return nil
				}
				return s.group(g)
			})
		default:
			err = s.skip()
		}
		return err
	})
}

func (s *shapeScan) group(g *groupShape) error {
	return s.object(func(key []byte, esc bool) error {
		var err error
		switch groupShapeKeys.index(key, esc) {
		case 0:
			err = s.keys(&g.Update)
		case 1:
			err = s.keys(&g.ReschedulePolicy)
		case 2:
			err = s.keys(&g.Migrate)
		case 3:
			err = s.keys(&g.RestartPolicy)
		case 4:
			err = s.keys(&g.EphemeralDisk)
		case 5:
			err = list(s, &g.Tasks, func(t *taskShape) error {
				if s.null() {
					return nil
				}
				return s.object(func(key []byte, esc bool) error {
					if !keyIs(key, esc, killTimeoutKey) {
						return s.skip()
					}
					v, err := s.set()
					t.KillTimeout = jsonSet(v)
					return err
				})
			})
		case 6:
			var v bool
			v, err = s.set()
			g.JSON.Count = v
			g.JSON.AnyCount = g.JSON.AnyCount || v
		case 7:
			if s.null() {
				g.JSON.Scaling = nil
				return nil
			}
			if g.JSON.Scaling == nil {
				g.JSON.Scaling = new(structs.ScalingJSONKeys)
			}
			sc := g.JSON.Scaling
			err = s.object(func(key []byte, esc bool) error {
				var v bool
				var err error
				switch scalingKeys.index(key, esc) {
				case 0:
					v, err = s.set()
					sc.Min = v
				case 1:
					v, err = s.set()
					sc.Max = v
				case 2:
					v, err = s.set()
					sc.Enabled = v
				default:
					err = s.skip()
				}
				return err
			})
		default:
			err = s.skip()
		}
		return err
	})
}

// keyTable finds which of a few field names a JSON key matches, as
// encoding/json matches keys to fields: exactly or else case-insensitively
// (Unicode case folding).
type keyTable struct {
	names []string
	lower map[string]int
}

func newKeyTable(names ...string) keyTable {
	t := keyTable{names: names, lower: map[string]int{}}
	for i, n := range names {
		t.lower[strings.ToLower(n)] = i
	}
	return t
}

// index returns the index of the name key (its bytes as sent; esc: with
// escapes) matches, or -1.
func (t keyTable) index(key []byte, esc bool) int {
	if esc {
		var k string
		if json.Unmarshal(append(append([]byte{'"'}, key...), '"'), &k) != nil {
			return -1
		}
		key = []byte(k)
	}
	var buf [32]byte
	if len(key) <= len(buf) {
		ascii := true
		for i, c := range key {
			if c >= utf8.RuneSelf {
				ascii = false
				break
			}
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			buf[i] = c
		}
		if ascii {
			if i, ok := t.lower[string(buf[:len(key)])]; ok {
				return i
			}
			return -1
		}
	}
	for i, n := range t.names {
		if bytes.EqualFold(key, []byte(n)) {
			return i
		}
	}
	return -1
}

// keyIs reports whether key matches the one name of t.
func keyIs(key []byte, esc bool, t keyTable) bool {
	if !esc && string(key) == t.names[0] {
		return true
	}
	return t.index(key, esc) == 0
}
