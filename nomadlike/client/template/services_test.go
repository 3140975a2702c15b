package template

import (
	"errors"
	"strings"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// fakeServices is a ServiceSource over fixed data that records the queries.
type fakeServices struct {
	regs    map[string][]*structs.ServiceRegistration // by "namespace/name"
	queries []string
}

func (f *fakeServices) Service(namespace, name string) ([]*structs.ServiceRegistration, error) {
	f.queries = append(f.queries, namespace+"/"+name)
	return f.regs[namespace+"/"+name], nil
}

func (f *fakeServices) Services(namespace string) ([]*structs.ServiceRegistrationStub, error) {
	f.queries = append(f.queries, namespace+"/*")
	return []*structs.ServiceRegistrationStub{{ServiceName: "backend", Tags: []string{"v1", "v2"}}, {ServiceName: "db"}}, nil
}

func TestRenderNomadService(t *testing.T) {
	taskDir, shared := testDirs(t)
	src := &fakeServices{regs: map[string][]*structs.ServiceRegistration{
		"/backend": {
			{ID: "a", ServiceName: "backend", Address: "10.0.0.1", Port: 8001, Tags: []string{"v1"}},
			{ID: "b", ServiceName: "backend", Address: "10.0.0.2", Port: 8002, Tags: []string{"v2"}},
		},
		"prod/db": {{ID: "c", ServiceName: "db", Address: "10.0.0.3", Port: 5432}},
	}}
	cases := []struct{ name, tmpl, want string }{
		{"all", `{{ range nomadService "backend" }}{{ .Address }}:{{ .Port }} {{ end }}`, "10.0.0.1:8001 10.0.0.2:8002 "},
		{"by tag", `{{ range nomadService "v2.backend" }}{{ .Name }}={{ .Address }}:{{ .Port }}{{ end }}`, "backend=10.0.0.2:8002"},
		{"namespace", `{{ range nomadService "db@prod" }}{{ .Port }}{{ end }}`, "5432"},
		{"none", `{{ range nomadService "missing" }}x{{ else }}none{{ end }}`, "none"},
		{"list", `{{ range nomadServices }}{{ .Name }}{{ .Tags }};{{ end }}`, "backend[v1 v2];db[];"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(taskDir, shared, &structs.Template{EmbeddedTmpl: tc.tmpl})
			cfg.Services = src
			r, err := Render(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if string(r.Content) != tc.want {
				t.Errorf("rendered %q, want %q", r.Content, tc.want)
			}
		})
	}
}

func TestRenderNomadServiceWithoutSource(t *testing.T) {
	taskDir, shared := testDirs(t)
	_, err := Render(testConfig(taskDir, shared, &structs.Template{EmbeddedTmpl: "a\n{{ nomadService \"x\" }}"}))
	if !errors.Is(err, ErrUnavailableFunction) || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("got %v, want an unavailable-function error on line 2", err)
	}
}

func TestRenderNomadServiceBadQuery(t *testing.T) {
	taskDir, shared := testDirs(t)
	cfg := testConfig(taskDir, shared, &structs.Template{EmbeddedTmpl: `{{ nomadService "tag." }}`})
	cfg.Services = &fakeServices{}
	if _, err := Render(cfg); err == nil || !strings.Contains(err.Error(), "names no service") {
		t.Errorf("got %v, want a 'names no service' error", err)
	}
}
