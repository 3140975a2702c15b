package state

import (
	"encoding/binary"
	"fmt"

	memdb "github.com/hashicorp/go-memdb"
)

// Typed indexers for the tables every registration, evaluation and plan
// writes. They build the keys go-memdb's StringFieldIndex and
// CompoundIndex build, byte for byte (each string followed by a 0 byte;
// TestTypedIndexersMatchReflective), from fields read by a function:
// those find the field by name through reflection for every object
// inserted and make two or three allocations per key, a good share of
// a job registration's state write.

// stringKey is the StringFieldIndex key of v: v and a 0 byte.
func stringKey(v ...string) []byte {
	n := 0
	for _, s := range v {
		n += len(s) + 1
	}
	b := make([]byte, 0, n)
	for _, s := range v {
		b = append(b, s...)
		b = append(b, 0)
	}
	return b
}

// typedStrings indexes T by one or two string fields (get's second result
// is ignored for one), as a StringFieldIndex or a CompoundIndex of two.
type typedStrings[T any] struct {
	fields int
	get    func(T) (string, string)
	// allowMissing is the CompoundIndex's AllowMissing: a missing second
	// field ends the key after the first.
	allowMissing bool
}

func (ix typedStrings[T]) FromObject(raw any) (bool, []byte, error) {
	o, ok := raw.(T)
	if !ok {
		return false, nil, fmt.Errorf("state: index of %T got %T", o, raw)
	}
	a, b := ix.get(o)
	switch {
	case ix.fields == 1 && a == "":
		return false, nil, nil
	case ix.fields == 1:
		return true, stringKey(a), nil
	case a == "" && ix.allowMissing:
		return true, nil, nil
	case a == "":
		return false, nil, nil
	case b == "" && ix.allowMissing:
		return true, stringKey(a), nil
	case b == "":
		return false, nil, nil
	}
	return true, stringKey(a, b), nil
}

func (ix typedStrings[T]) FromArgs(args ...any) ([]byte, error) {
	if len(args) != ix.fields {
		return nil, fmt.Errorf("state: index takes %d arguments, got %d", ix.fields, len(args))
	}
	return ix.key(args, false)
}

// PrefixFromArgs is the key of the first len(args) fields, the last
// without its 0 byte (one field: exactly one argument).
func (ix typedStrings[T]) PrefixFromArgs(args ...any) ([]byte, error) {
	if ix.fields == 1 && len(args) != 1 {
		return nil, fmt.Errorf("state: index takes 1 argument, got %d", len(args))
	}
	if len(args) > ix.fields {
		return nil, fmt.Errorf("state: index takes at most %d arguments, got %d", ix.fields, len(args))
	}
	return ix.key(args, true)
}

func (ix typedStrings[T]) key(args []any, prefix bool) ([]byte, error) {
	var s [2]string
	for i, a := range args {
		v, ok := a.(string)
		if !ok {
			return nil, fmt.Errorf("state: index argument %d must be a string: %#v", i, a)
		}
		s[i] = v
	}
	b := stringKey(s[:len(args)]...)
	if prefix && len(b) > 0 {
		b = b[:len(b)-1]
	}
	return b, nil
}

// stringIndexOf is stringIndex for a table of T, reading the field with get.
func stringIndexOf[T any](name string, unique, allowMissing bool, get func(T) string) *memdb.IndexSchema {
	return &memdb.IndexSchema{Name: name, Unique: unique, AllowMissing: allowMissing,
		Indexer: typedStrings[T]{fields: 1, get: func(o T) (string, string) { return get(o), "" }}}
}

// namespaceIDIndexOf is namespaceIDIndex for a table of T, reading
// {Namespace, ID} with get.
func namespaceIDIndexOf[T any](name string, unique, allowMissing bool, get func(T) (string, string)) *memdb.IndexSchema {
	return &memdb.IndexSchema{Name: name, Unique: unique, AllowMissing: allowMissing,
		Indexer: typedStrings[T]{fields: 2, get: get}}
}

// jobIndexOf indexes allocations or evaluations (T) by {Namespace, JobID};
// one without a JobID is indexed by {Namespace} alone, so the prefix
// {Namespace} lists all of a namespace's (a CompoundIndex with
// AllowMissing).
func jobIndexOf[T any](get func(T) (string, string)) *memdb.IndexSchema {
	return &memdb.IndexSchema{Name: indexJob, AllowMissing: true,
		Indexer: typedStrings[T]{fields: 2, get: get, allowMissing: true}}
}

// typedVersion indexes T by {Namespace, ID, Version} as a CompoundIndex of
// two StringFieldIndexes and a UintFieldIndex of a uint64 (8 bytes, big
// endian).
type typedVersion[T any] struct {
	get func(T) (string, string, uint64)
}

func (ix typedVersion[T]) FromObject(raw any) (bool, []byte, error) {
	o, ok := raw.(T)
	if !ok {
		return false, nil, fmt.Errorf("state: index of %T got %T", o, raw)
	}
	ns, id, v := ix.get(o)
	if ns == "" || id == "" {
		return false, nil, nil
	}
	return true, binary.BigEndian.AppendUint64(stringKey(ns, id), v), nil
}

func (ix typedVersion[T]) FromArgs(args ...any) ([]byte, error) {
	if len(args) != 3 {
		return nil, fmt.Errorf("state: index takes 3 arguments, got %d", len(args))
	}
	b, err := typedStrings[T]{fields: 2}.key(args[:2], false)
	if err != nil {
		return nil, err
	}
	switch v := args[2].(type) {
	case uint64:
		return binary.BigEndian.AppendUint64(b, v), nil
	case uint:
		return binary.BigEndian.AppendUint64(b, uint64(v)), nil
	}
	return nil, fmt.Errorf("state: index argument 2 must be a uint64: %#v", args[2])
}

// PrefixFromArgs takes {Namespace} or {Namespace, ID prefix}, as the
// CompoundIndex did (its UintFieldIndex has no prefix form).
func (ix typedVersion[T]) PrefixFromArgs(args ...any) ([]byte, error) {
	if len(args) > 2 {
		return nil, fmt.Errorf("state: sub-index 2 does not support prefix scanning")
	}
	return typedStrings[T]{fields: 2}.key(args, true)
}
