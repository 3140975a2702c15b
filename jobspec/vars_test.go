package jobspec

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const varsSrc = `
variable "image" {
  type    = string
  default = "redis:7"
}
variable "count" {
  type    = number
  default = 1
}
variable "ports" {
  type    = list(number)
  default = [80]
}
variable "plain" {
  default = "p"
}
job "v" {
  meta = {
    image = var.image
    ports = join(",", var.ports)
    plain = var.plain
  }
  group "g" {
    count = var.count
    task "t" {
      driver = "raw_exec"
    }
  }
}
`

func TestParseWithVars(t *testing.T) {
	type result struct {
		Image, Ports, Plain string
		Count               int
	}
	tests := []struct {
		name string
		env  map[string]string
		vars map[string]string
		want result
	}{
		{
			name: "defaults",
			want: result{Image: "redis:7", Ports: "80", Plain: "p", Count: 1},
		},
		{
			name: "-var overrides, literal for string and number, expression for list",
			vars: map[string]string{"image": "nginx:1", "count": "3", "ports": "[443, 8443]", "plain": "x=y"},
			want: result{Image: "nginx:1", Ports: "443,8443", Plain: "x=y", Count: 3},
		},
		{
			name: "environment variables",
			env:  map[string]string{"NOMAD_VAR_image": "from-env", "NOMAD_VAR_count": "5", "NOMAD_VAR_undeclared": "ignored"},
			want: result{Image: "from-env", Ports: "80", Plain: "p", Count: 5},
		},
		{
			name: "-var wins over the environment",
			env:  map[string]string{"NOMAD_VAR_image": "from-env"},
			vars: map[string]string{"image": "from-flag"},
			want: result{Image: "from-flag", Ports: "80", Plain: "p", Count: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			job, err := ParseWithVars("v.hcl", []byte(varsSrc), tt.vars)
			if err != nil {
				t.Fatalf("ParseWithVars: got error %v, want none", err)
			}
			got := result{
				Image: job.Meta["image"], Ports: job.Meta["ports"], Plain: job.Meta["plain"],
				Count: job.TaskGroups[0].Count,
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseWithVarsErrors(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		want string
	}{
		{
			name: "undeclared with suggestion",
			vars: map[string]string{"imgae": "x"},
			want: `<value for var.imgae from -var>: Undeclared variable: -var "imgae" sets a variable the job does not declare; did you mean "image"?`,
		},
		{
			name: "number that is not a number",
			vars: map[string]string{"count": "many"},
			want: `<value for var.count from -var>: Invalid value for variable: the value "many" for var.count does not match its type number`,
		},
		{
			name: "list expression that does not parse",
			vars: map[string]string{"ports": "[80,"},
			want: `<value for var.ports from -var>:1:`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseWithVars("v.hcl", []byte(varsSrc), tt.vars)
			if err == nil {
				t.Fatalf("got no error, want one containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error\n%v\nwant it to contain\n%s", err, tt.want)
			}
		})
	}
}

func TestLocalsErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{
			name: "cycle",
			src:  "locals {\n  a = local.b\n  b = local.a\n}\n",
			want: "l.hcl:2:3: Circular local value: local.a refers to itself",
		},
		{
			name: "undefined with suggestion",
			src:  "locals {\n  name = \"x\"\n}\njob \"j\" {\n  name = local.nmae\n}\n",
			want: "l.hcl:5:10: Undefined local value: local.nmae is not defined; did you mean local.name?",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("l.hcl", []byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error\n%v\nwant it to contain\n%s", err, tt.want)
			}
		})
	}
}
