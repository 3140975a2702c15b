package jobspec

import (
	"strings"
	"testing"
)

// TestUnknownBareNamesKept: a bare name that is no variable or local value
// of the file, in a string, is kept as literal text as Nomad keeps it (an
// nginx config in a template's data); a dotted unknown name, or the name of
// a variable or local value written without var. or local., is an error.
func TestUnknownBareNamesKept(t *testing.T) {
	spec := func(data string) []byte {
		return []byte(`variable "image" {
  default = "nginx"
}
locals {
  port = 8080
}
job "j" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      config { command = "/bin/true" }
      template {
        destination = "local/nginx.conf"
        data        = <<EOT
` + data + `
EOT
      }
    }
  }
}
`)
	}
	job, err := Parse("k.nomad.hcl", spec(`proxy_set_header Origin "${scheme}://${proxy_host}"; # ${var.image} ${local.port} ${upper("x")}`))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	got := job.TaskGroups[0].Tasks[0].Templates[0].EmbeddedTmpl
	if want := `proxy_set_header Origin "${scheme}://${proxy_host}"; # nginx 8080 X` + "\n"; got != want {
		t.Errorf("template data %q, want %q", got, want)
	}
	for _, tc := range []struct{ data, err string }{
		{`${image}`, `k.nomad.hcl:15:3: Unknown variable: There is no variable named "image".`},
		{`${port}`, `k.nomad.hcl:15:3: Unknown variable: There is no variable named "port".`},
		{`${vr.image}`, `k.nomad.hcl:15:3: Unknown variable: There is no variable named "vr".`},
	} {
		_, err := Parse("k.nomad.hcl", spec(tc.data))
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("data %s: error %v, want %q", tc.data, err, tc.err)
		}
	}
}
