package structs

import (
	"reflect"
	"strings"
	"testing"
)

// TestWireMsgpackCarriesNoHiddenFields: the client protocol's msgpack
// handle names fields by their `codec` tag only, so a field hidden from
// JSON (`json:"-"`: a server-side or secret field) would still be read from
// a client's body and written into a reply. None of the types the client
// protocol carries may have one unless it is hidden from msgpack too.
func TestWireMsgpackCarriesNoHiddenFields(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var walk func(typ reflect.Type, path string)
	walk = func(typ reflect.Type, path string) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Array || typ.Kind() == reflect.Map {
			if typ.Kind() == reflect.Map {
				walk(typ.Key(), path+"[key]")
			}
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || seen[typ] {
			return
		}
		seen[typ] = true
		for i := range typ.NumField() {
			f := typ.Field(i)
			if !f.IsExported() {
				continue
			}
			codecTag := strings.Split(f.Tag.Get("codec"), ",")[0]
			if f.Tag.Get("json") == "-" && codecTag != "-" {
				t.Errorf("%s.%s (%s) is json:\"-\" but travels in the client protocol's msgpack: tag it codec:\"-\" too, or keep it out of these types", path, f.Name, typ)
			}
			if codecTag != "-" {
				walk(f.Type, path+"."+f.Name)
			}
		}
	}
	for _, v := range []any{NodeAllocUpdateRequest{}, NodeAllocsPullRequest{}, NodeAllocsPullResponse{}, NodeClientAllocs{}, GenericResponse{}} {
		walk(reflect.TypeOf(v), reflect.TypeOf(v).Name())
	}
}
