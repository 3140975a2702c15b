package structs

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// copyTypes lists one value of every type that has a Copy method. A type whose
// Copy method is not listed here fails TestCopyTypesListed.
var copyTypes = []any{
	&ACLPolicy{}, &ACLRole{}, &Action{}, &WorkloadIdentity{}, &ACLToken{}, &Namespace{},
	&RootKey{}, &WrappedRootKey{}, &VariableLock{}, &VariableMetadata{}, &VariableEncrypted{}, &VariableDecrypted{},
	&Affinity{}, &Allocation{}, &AllocatedResources{}, &AllocDeploymentStatus{}, &AllocNetworkStatus{}, &DNSConfig{}, &CNIConfig{},
	&AllocMetric{}, &CheckRestart{}, &ClientHostVolumeConfig{}, &Constraint{}, &Deployment{},
	&DeploymentState{}, &DispatchPayloadConfig{}, &DrainMetadata{}, &DrainStrategy{}, &Evaluation{},
	&Job{}, &JobSubmission{}, &JobVersionTag{}, &NetworkResource{}, &Node{}, &NodePool{}, &ParameterizedJobConfig{},
	&PeriodicConfig{}, &Resources{}, &RestartPolicy{}, &ScalingPolicy{},
	&SchedulerConfig{}, &ScalingEvent{}, &JobScalingEvents{}, &Service{}, &ServiceCheck{}, &ServiceRegistration{},
	&Spread{}, &Task{}, &TaskArtifact{}, &TaskGroup{}, &TaskLifecycleConfig{},
	&TaskState{}, &Template{}, &UpdateStrategy{}, &VolumeMount{}, &VolumeRequest{},
}

// sharedAllowed are the paths (type of the copied value, then fields; map keys
// and slice indexes as []) that a Copy shares on purpose.
var sharedAllowed = map[string]string{
	"Allocation.Job": "jobs are immutable once stored; every allocation of a version shares it",
}

// TestCopyIsDeep fills every exported field of each type (recursively, no zero
// values), copies it and fails on any pointer, slice or map the copy shares with
// the original, and on any field the copy loses.
func TestCopyIsDeep(t *testing.T) {
	for _, v := range copyTypes {
		typ := reflect.TypeOf(v).Elem()
		t.Run(typ.Name(), func(t *testing.T) {
			orig := reflect.New(typ)
			fill(orig.Elem(), map[reflect.Type]int{})
			cp := orig.MethodByName("Copy").Call(nil)[0]
			if cp.Pointer() == orig.Pointer() {
				t.Fatalf("Copy returned the receiver")
			}
			var shared []string
			walkShared(typ.Name(), orig.Elem(), cp.Elem(), &shared)
			reported := map[string]bool{}
			for _, p := range shared {
				if !reported[p] {
					reported[p] = true
					t.Errorf("copy shares %s with the original", p)
				}
			}
			if !reflect.DeepEqual(orig.Interface(), cp.Interface()) {
				t.Errorf("copy differs from the original (a field is dropped or changed):\n%s", diffPaths(typ.Name(), orig.Elem(), cp.Elem()))
			}
		})
	}
}

// TestCopyTypesListed fails when a type gains a Copy method without being added
// to copyTypes (and so to the deep-copy check).
func TestCopyTypesListed(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, v := range copyTypes {
		listed[reflect.TypeOf(v).Elem().Name()] = true
	}
	fset := token.NewFileSet()
	var missing []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range af.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv == nil || fd.Name.Name != "Copy" {
				continue
			}
			rt := fd.Recv.List[0].Type
			if st, ok := rt.(*ast.StarExpr); ok {
				rt = st.X
			}
			if id, ok := rt.(*ast.Ident); ok && !listed[id.Name] {
				missing = append(missing, id.Name)
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("types with a Copy method missing from copyTypes: %v", missing)
	}
}

var timeType = reflect.TypeOf(time.Time{})

// fill sets v and everything under it to non-zero values. seen bounds
// recursive types: a type already twice on the path is left zero.
func fill(v reflect.Value, seen map[reflect.Type]int) {
	t := v.Type()
	if t == timeType {
		v.Set(reflect.ValueOf(time.Unix(1_700_000_000, 0).UTC()))
		return
	}
	if seen[t] >= 2 {
		return
	}
	seen[t]++
	defer func() { seen[t]-- }()
	switch t.Kind() {
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		v.SetUint(7)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1.5)
	case reflect.String:
		v.SetString("x")
	case reflect.Pointer:
		p := reflect.New(t.Elem())
		fill(p.Elem(), seen)
		v.Set(p)
	case reflect.Slice:
		s := reflect.MakeSlice(t, 2, 2)
		for i := 0; i < 2; i++ {
			fill(s.Index(i), seen)
		}
		v.Set(s)
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			fill(v.Index(i), seen)
		}
	case reflect.Map:
		m := reflect.MakeMap(t)
		for i := 0; i < 2; i++ {
			k := reflect.New(t.Key()).Elem()
			fill(k, seen)
			if t.Key().Kind() == reflect.String {
				k.SetString(string(rune('a' + i)))
			} else if k.CanInt() {
				k.SetInt(int64(i + 1))
			} else if k.CanUint() {
				k.SetUint(uint64(i + 1))
			}
			e := reflect.New(t.Elem()).Elem()
			fill(e, seen)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if t.Field(i).IsExported() {
				fill(v.Field(i), seen)
			}
		}
	case reflect.Interface:
		if t.NumMethod() == 0 {
			// Free-form values (task config, metadata) are nested maps and lists.
			v.Set(reflect.ValueOf(map[string]any{"k": []any{"v", map[string]any{"n": 1}}}))
		}
	}
}

var indexRE = regexp.MustCompile(`\[[^\]]*\]`)

// walkShared records every path where a and b hold the same pointer, slice
// backing array or map.
func walkShared(path string, a, b reflect.Value, out *[]string) {
	if !a.IsValid() || !b.IsValid() {
		return
	}
	share := func() {
		norm := indexRE.ReplaceAllString(path, "[]")
		if _, ok := sharedAllowed[norm]; !ok {
			*out = append(*out, norm)
		}
	}
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return
		}
		if a.Pointer() == b.Pointer() {
			share()
			return
		}
		walkShared(path, a.Elem(), b.Elem(), out)
	case reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return
		}
		walkShared(path, a.Elem(), b.Elem(), out)
	case reflect.Slice:
		if a.Len() == 0 || b.Len() == 0 {
			return
		}
		if a.Pointer() == b.Pointer() {
			share()
			return
		}
		for i := 0; i < a.Len() && i < b.Len(); i++ {
			walkShared(path+"["+itoa(i)+"]", a.Index(i), b.Index(i), out)
		}
	case reflect.Array:
		for i := 0; i < a.Len(); i++ {
			walkShared(path+"["+itoa(i)+"]", a.Index(i), b.Index(i), out)
		}
	case reflect.Map:
		if a.IsNil() || b.IsNil() {
			return
		}
		if a.Pointer() == b.Pointer() {
			share()
			return
		}
		for _, k := range a.MapKeys() {
			walkShared(path+"[k]", a.MapIndex(k), b.MapIndex(k), out)
		}
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			if a.Type().Field(i).IsExported() {
				walkShared(path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i), out)
			}
		}
	}
}

// diffPaths names the fields where a and b differ.
func diffPaths(path string, a, b reflect.Value) string {
	var out []string
	var walk func(path string, a, b reflect.Value)
	walk = func(path string, a, b reflect.Value) {
		if reflect.DeepEqual(a.Interface(), b.Interface()) {
			return
		}
		switch a.Kind() {
		case reflect.Pointer, reflect.Interface:
			if !a.IsNil() && !b.IsNil() {
				walk(path, a.Elem(), b.Elem())
				return
			}
		case reflect.Struct:
			if a.Type() != timeType {
				for i := 0; i < a.NumField(); i++ {
					if a.Type().Field(i).IsExported() {
						walk(path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i))
					}
				}
				return
			}
		case reflect.Slice:
			if a.Len() == b.Len() {
				for i := 0; i < a.Len(); i++ {
					walk(path+"["+itoa(i)+"]", a.Index(i), b.Index(i))
				}
				return
			}
		case reflect.Map:
			if a.Len() == b.Len() && !a.IsNil() && !b.IsNil() {
				for _, k := range a.MapKeys() {
					if bv := b.MapIndex(k); bv.IsValid() {
						walk(path+"[k]", a.MapIndex(k), bv)
						continue
					}
				}
				return
			}
		}
		out = append(out, path)
	}
	walk(path, a, b)
	return "  " + strings.Join(out, "\n  ")
}

func itoa(i int) string { return string(rune('0' + i)) }
