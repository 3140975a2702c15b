package structs

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
)

// CheckNoNullElements reports, as a 400 naming the field by its JSON path
// (e.g. "Job.TaskGroups[0].Tasks[1]"), the first nil pointer inside a list
// or map of v: what JSON `[null]` decodes to. Code below the HTTP layer
// (Copy, Canonicalize, Validate) may assume list elements are not nil.
// name is the path of v itself ("" for none).
func CheckNoNullElements(v any, name string) error {
	rev, found := nullElement(reflect.ValueOf(v), 0)
	if !found {
		return nil
	}
	var b strings.Builder
	b.WriteString(name)
	for i := len(rev) - 1; i >= 0; i-- {
		b.WriteString(rev[i])
	}
	return NewBadRequest("%s is null: a list or map of objects cannot hold null; remove the element or give an object", strings.TrimPrefix(b.String(), "."))
}

// maxNullWalkDepth stops the walk on pathological nesting (the JSON
// decoder's depth bound keeps request bodies far below it).
const maxNullWalkDepth = 200

// nullElement reports whether a nil element lies below v and returns its
// path's segments (".Field", "[3]"), innermost first. The path is built
// only once a nil element is found: the walk over a valid job, done on
// every registration, builds no string (68 µs and 205 allocations per
// two-group job before, 20 µs and 4 after, BenchmarkCheckNoNullElements).
func nullElement(v reflect.Value, depth int) ([]string, bool) {
	if depth > maxNullWalkDepth || !v.IsValid() {
		return nil, false
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil, false
		}
		return nullElement(v.Elem(), depth+1)
	case reflect.Struct:
		t := v.Type()
		for _, i := range walkedFields(t) {
			if rev, ok := nullElement(v.Field(i), depth+1); ok {
				return append(rev, "."+t.Field(i).Name), true
			}
		}
	case reflect.Slice, reflect.Array:
		pointers := isPointerLike(v.Type().Elem())
		for i := range v.Len() {
			e := v.Index(i)
			if pointers && e.IsNil() {
				return []string{fmt.Sprintf("[%d]", i)}, true
			}
			if rev, ok := nullElement(e, depth+1); ok {
				return append(rev, fmt.Sprintf("[%d]", i)), true
			}
		}
	case reflect.Map:
		pointers := isPointerLike(v.Type().Elem())
		iter := v.MapRange()
		for iter.Next() {
			if pointers && iter.Value().IsNil() {
				return []string{fmt.Sprintf("[%v]", iter.Key())}, true
			}
			if rev, ok := nullElement(iter.Value(), depth+1); ok {
				return append(rev, fmt.Sprintf("[%v]", iter.Key())), true
			}
		}
	}
	return nil, false
}

// isPointerLike reports whether elements of type t decode JSON null as a
// nil pointer (interface values hold null legitimately, e.g. task config).
func isPointerLike(t reflect.Type) bool {
	return t.Kind() == reflect.Pointer
}

// walkedFieldsOf caches walkedFields by struct type.
var walkedFieldsOf sync.Map // reflect.Type -> []int

// walkedFields returns the indexes of the exported fields of struct type t
// that may hold what nullElement looks for (mayHoldNullIn): the walk skips
// the others (strings, numbers, durations, []string, map[string]string:
// most of a job's fields) without visiting them.
func walkedFields(t reflect.Type) []int {
	if v, ok := walkedFieldsOf.Load(t); ok {
		return v.([]int)
	}
	var idx []int
	for i := range t.NumField() {
		if f := t.Field(i); f.IsExported() && mayHoldNullIn(f.Type, map[reflect.Type]bool{}) {
			idx = append(idx, i)
		}
	}
	walkedFieldsOf.Store(t, idx)
	return idx
}

// mayHoldNullIn reports whether a value of type t may hold what
// nullElement looks for: a list or map of pointers, or an interface (whose
// value is known only when walked). A type met again below itself (a
// recursive type) counts as one that may.
func mayHoldNullIn(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return true
	}
	seen[t] = true
	defer delete(seen, t)
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Pointer:
		return mayHoldNullIn(t.Elem(), seen)
	case reflect.Slice, reflect.Array, reflect.Map:
		return isPointerLike(t.Elem()) || mayHoldNullIn(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() && mayHoldNullIn(f.Type, seen) {
				return true
			}
		}
	}
	return false
}
