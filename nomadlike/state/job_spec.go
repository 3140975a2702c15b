package state

import (
	"reflect"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// jobSpecChanged reports whether the user-controlled part of a job differs
// between old and new: the jobs are compared with the server-set fields
// (Status, StatusDescription, Stable, Version, SubmitTime and the indexes)
// zeroed, and with nil and empty slices and maps treated as equal, because a
// job that went through JSON or msgpack may come back with either.
func jobSpecChanged(old, new *structs.Job) bool {
	return !deepEqual(reflect.ValueOf(specOf(old)), reflect.ValueOf(specOf(new)))
}

// specOf returns a shallow copy of j with the server-set fields zeroed.
func specOf(j *structs.Job) structs.Job {
	c := *j
	c.Status = ""
	c.StatusDescription = ""
	c.Stable = false
	c.VersionTag = nil
	c.Version = 0
	c.SubmitTime = 0
	c.CreateIndex = 0
	c.ModifyIndex = 0
	c.JobModifyIndex = 0
	return c
}

// deepEqual is reflect.DeepEqual except that nil and empty slices and maps
// are equal. Job specs hold no cycles, so no visited set is kept.
func deepEqual(a, b reflect.Value) bool {
	if !a.IsValid() || !b.IsValid() {
		return a.IsValid() == b.IsValid()
	}
	if a.Type() != b.Type() { // an interface's static type; its dynamic types are compared below
		return false
	}
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return a.Pointer() == b.Pointer() || deepEqual(a.Elem(), b.Elem())
	case reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		if x, ok := number(a.Elem()); ok {
			y, ok := number(b.Elem())
			return ok && x == y
		}
		return deepEqual(a.Elem(), b.Elem())
	case reflect.Struct:
		for i := range a.NumField() {
			if !deepEqual(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Slice, reflect.Array:
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !deepEqual(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.Len() != b.Len() {
			return false
		}
		it := a.MapRange()
		for it.Next() {
			bv := b.MapIndex(it.Key())
			if !bv.IsValid() || !deepEqual(it.Value(), bv) {
				return false
			}
		}
		return true
	case reflect.Bool:
		return a.Bool() == b.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return a.Int() == b.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return a.Uint() == b.Uint()
	case reflect.Float32, reflect.Float64:
		return a.Float() == b.Float()
	case reflect.Complex64, reflect.Complex128:
		return a.Complex() == b.Complex()
	case reflect.String:
		return a.String() == b.String()
	default: // Func, Chan, UnsafePointer: equal only when identical.
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return a.Pointer() == b.Pointer()
	}
}

// number returns v as a float64 when it holds a number, so that a driver
// config value decoded as int64 by one codec and float64 by another compares
// equal. Whole numbers of more than 53 bits may compare equal when they
// differ only in the low bits, which no job spec relies on.
func number(v reflect.Value) (float64, bool) {
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(v.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return float64(v.Uint()), true
	case reflect.Float32, reflect.Float64:
		return v.Float(), true
	}
	return 0, false
}
