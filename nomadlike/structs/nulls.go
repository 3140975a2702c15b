package structs

import (
	"fmt"
	"reflect"
	"strings"
)

// CheckNoNullElements reports, as a 400 naming the field by its JSON path
// (e.g. "Job.TaskGroups[0].Tasks[1]"), the first nil pointer inside a list
// or map of v: what JSON `[null]` decodes to. Code below the HTTP layer
// (Copy, Canonicalize, Validate) may assume list elements are not nil.
// name is the path of v itself ("" for none).
func CheckNoNullElements(v any, name string) error {
	if path := strings.TrimPrefix(nullElement(reflect.ValueOf(v), name, 0), "."); path != "" {
		return NewBadRequest("%s is null: a list or map of objects cannot hold null; remove the element or give an object", path)
	}
	return nil
}

// maxNullWalkDepth stops the walk on pathological nesting (the JSON
// decoder's depth bound keeps request bodies far below it).
const maxNullWalkDepth = 200

// nullElement returns the path of the first nil element below v, or "".
func nullElement(v reflect.Value, path string, depth int) string {
	if depth > maxNullWalkDepth || !v.IsValid() {
		return ""
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return ""
		}
		return nullElement(v.Elem(), path, depth+1)
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			if p := nullElement(v.Field(i), path+"."+f.Name, depth+1); p != "" {
				return p
			}
		}
	case reflect.Slice, reflect.Array:
		pointers := isPointerLike(v.Type().Elem())
		for i := range v.Len() {
			e := v.Index(i)
			p := fmt.Sprintf("%s[%d]", path, i)
			if pointers && e.IsNil() {
				return p
			}
			if p := nullElement(e, p, depth+1); p != "" {
				return p
			}
		}
	case reflect.Map:
		pointers := isPointerLike(v.Type().Elem())
		iter := v.MapRange()
		for iter.Next() {
			p := fmt.Sprintf("%s[%v]", path, iter.Key())
			if pointers && iter.Value().IsNil() {
				return p
			}
			if p := nullElement(iter.Value(), p, depth+1); p != "" {
				return p
			}
		}
	}
	return ""
}

// isPointerLike reports whether elements of type t decode JSON null as a
// nil pointer (interface values hold null legitimately, e.g. task config).
func isPointerLike(t reflect.Type) bool {
	return t.Kind() == reflect.Pointer
}
