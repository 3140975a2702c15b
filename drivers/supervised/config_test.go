package supervised

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestConfigDecoder(t *testing.T) {
	cfg := map[string]any{
		"name": "web", "args": []any{"-a", "b"}, "tags": []string{"x"}, "on": true, "null": nil,
		"bad_name": 3, "bad_args": []any{"a", 1}, "bad_on": "yes", "zzz": 1, "aaa": 2,
	}
	c := NewConfigDecoder(cfg)
	got := struct {
		Name, BadName, Missing, Null string
		Args, Tags, BadArgs, NoList  []string
		On, BadOn, NoBool            bool
	}{
		Name: c.String("name"), BadName: c.String("bad_name"), Missing: c.String("missing"), Null: c.String("null"),
		Args: c.List("args"), Tags: c.List("tags"), BadArgs: c.List("bad_args"), NoList: c.List("null"),
		On: c.Bool("on"), BadOn: c.Bool("bad_on"), NoBool: c.Bool("missing"),
	}
	for _, k := range c.Unknown([]string{"name", "args", "tags", "on", "null", "bad_name", "bad_args", "bad_on"}) {
		c.Add(k, "unknown key")
	}
	if got.Name != "web" || got.BadName != "" || got.Missing != "" || got.Null != "" {
		t.Errorf("strings = %+v", got)
	}
	if diff := cmp.Diff([]string{"-a", "b"}, got.Args); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"x"}, got.Tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	if got.BadArgs != nil || got.NoList != nil || !got.On || got.BadOn || got.NoBool {
		t.Errorf("decoded = %+v", got)
	}
	var verr *structs.ValidationError
	if err := c.Err(); !errors.As(err, &verr) {
		t.Fatalf("Err() = %v, want a *structs.ValidationError", err)
	}
	want := []structs.FieldError{
		{Field: "config.bad_name", Msg: "must be a string, got int"},
		{Field: "config.bad_args", Msg: "must be a list of strings"},
		{Field: "config.bad_on", Msg: "must be true or false, got string"},
		{Field: "config.aaa", Msg: "unknown key"},
		{Field: "config.zzz", Msg: "unknown key"},
	}
	if diff := cmp.Diff(want, verr.Problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestConfigDecoderNoProblems(t *testing.T) {
	c := NewConfigDecoder(map[string]any{"name": "web"})
	if s := c.String("name"); s != "web" {
		t.Errorf("String = %q, want web", s)
	}
	if err := c.Err(); err != nil {
		t.Errorf("Err() = %v, want nil", err)
	}
}

func TestStringListCopies(t *testing.T) {
	in := []string{"a"}
	out, ok := StringList(in)
	if !ok {
		t.Fatal("StringList([]string) not ok")
	}
	out[0] = "b"
	if in[0] != "a" {
		t.Error("StringList returned the caller's slice, want a copy")
	}
	if _, ok := StringList("a"); ok {
		t.Error("StringList(string) ok, want not ok")
	}
}
