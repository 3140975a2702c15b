package template

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/template"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// VariableSource answers nomadVar, nomadVarExists and nomadVarList from
// Nomad Variables, read with the task's workload identity.
// Implementations cache and watch what was asked, so that a change can
// trigger a new render.
type VariableSource interface {
	// Variable returns the variable at path in namespace ("": the task's),
	// nil when there is none.
	Variable(namespace, path string) (*structs.VariableDecrypted, error)
	// VariableList returns the metadata of the variables under prefix.
	VariableList(namespace, prefix string) ([]*structs.VariableMetadata, error)
}

// variableFunctions are the functions a VariableSource serves.
var variableFunctions = []string{"nomadVar", "nomadVarExists", "nomadVarList", "nomadVarListSafe"}

// NomadVarMeta is a variable's metadata as templates see it
// (consul-template's): {{ .Path }}, .Namespace, .ModifyIndex, ...; it
// prints as its path.
type NomadVarMeta struct {
	Namespace   string
	Path        string
	CreateIndex uint64
	ModifyIndex uint64
	CreateTime  int64
	ModifyTime  int64
}

func (m NomadVarMeta) String() string { return m.Path }

// NomadVarItem is one item of a variable; it prints as its value.
type NomadVarItem struct {
	Key, Value string
	Path       NomadVarMeta
}

func (i NomadVarItem) String() string { return i.Value }

// NomadVarItems are a variable's items by key: {{ .password }} is an
// item, {{ range $k, $v := . }} ranges in key order; .Keys and .Values
// list them (consul-template's).
type NomadVarItems map[string]NomadVarItem

// Keys returns the item keys, sorted.
func (v NomadVarItems) Keys() []string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Values returns the items in key order.
func (v NomadVarItems) Values() []NomadVarItem {
	out := make([]NomadVarItem, 0, len(v))
	for _, k := range v.Keys() {
		out = append(out, v[k])
	}
	return out
}

// splitVarQuery splits "path[@namespace]".
func splitVarQuery(fn, q string) (path, namespace string, err error) {
	path = q
	if i := strings.LastIndex(q, "@"); i >= 0 {
		path, namespace = q[:i], q[i+1:]
	}
	path = strings.Trim(path, "/")
	if path == "" && fn != "nomadVarList" && fn != "nomadVarListSafe" {
		return "", "", fmt.Errorf("%s %q names no variable; write %s \"nomad/jobs/<job>\"", fn, q, fn)
	}
	return path, namespace, nil
}

func metaOf(m *structs.VariableMetadata) NomadVarMeta {
	return NomadVarMeta{Namespace: m.Namespace, Path: m.Path, CreateIndex: m.CreateIndex, ModifyIndex: m.ModifyIndex,
		CreateTime: m.CreateTime, ModifyTime: m.ModifyTime}
}

// addVariableFuncs registers the variable functions reading src.
func addVariableFuncs(fm template.FuncMap, src VariableSource) {
	fm["nomadVar"] = func(q string) (NomadVarItems, error) {
		path, ns, err := splitVarQuery("nomadVar", q)
		if err != nil {
			return nil, err
		}
		v, err := src.Variable(ns, path)
		if err != nil {
			return nil, fmt.Errorf("nomadVar %q: %w", q, err)
		}
		if v == nil {
			return nil, fmt.Errorf("nomadVar %q: no such variable (or the task may not read it: a task reads nomad/jobs/<its job>[/<group>[/<task>]], others need an ACL policy)", q)
		}
		out := NomadVarItems{}
		for k, val := range v.Items {
			out[k] = NomadVarItem{Key: k, Value: val, Path: metaOf(&v.VariableMetadata)}
		}
		return out, nil
	}
	fm["nomadVarExists"] = func(q string) (bool, error) {
		path, ns, err := splitVarQuery("nomadVarExists", q)
		if err != nil {
			return false, err
		}
		v, err := src.Variable(ns, path)
		if err != nil {
			return false, fmt.Errorf("nomadVarExists %q: %w", q, err)
		}
		return v != nil, nil
	}
	list := func(name string, safe bool) func(...string) ([]NomadVarMeta, error) {
		return func(args ...string) ([]NomadVarMeta, error) {
			if len(args) > 1 {
				return nil, errors.New(name + " takes at most one argument, \"prefix[@namespace]\"")
			}
			q := ""
			if len(args) == 1 {
				q = args[0]
			}
			prefix, ns, err := splitVarQuery(name, q)
			if err != nil {
				return nil, err
			}
			metas, err := src.VariableList(ns, prefix)
			if err != nil {
				if safe {
					return []NomadVarMeta{}, nil
				}
				return nil, fmt.Errorf("%s %q: %w", name, q, err)
			}
			out := make([]NomadVarMeta, 0, len(metas))
			for _, m := range metas {
				out = append(out, metaOf(m))
			}
			return out, nil
		}
	}
	fm["nomadVarList"] = list("nomadVarList", false)
	fm["nomadVarListSafe"] = list("nomadVarListSafe", true)
}
