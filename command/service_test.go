package command

import (
	"strings"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestServiceCommands(t *testing.T) {
	f, addr := newFakeAgent(t)
	f.on("GET", "/v1/services", 5, []*structs.ServiceRegistrationListStub{{Namespace: "default",
		Services: []*structs.ServiceRegistrationStub{{ServiceName: "backend", Tags: []string{"a", "b"}}}}})
	reg := &structs.ServiceRegistration{ID: "_nomad-group-" + allocID + "-backend-backend-http", ServiceName: "backend", Namespace: "default",
		NodeID: "7406e90b-de16-d118-80fe-60d0f2730cb3", Datacenter: "dc1", JobID: "example", AllocID: allocID,
		Tags: []string{"a"}, Address: "127.0.0.1", Port: 22686}
	f.on("GET", "/v1/service/backend", 5, []*structs.ServiceRegistration{reg})
	f.on("GET", "/v1/service/missing", 5, []*structs.ServiceRegistration{})
	f.on("DELETE", "/v1/service/backend/"+reg.ID, 6, &structs.GenericResponse{Index: 6})

	code, out, errOut := runCLI(t, "", "-address="+addr, "service", "list")
	if code != 0 || !strings.Contains(out, "Service Name") || !strings.Contains(out, "backend") || !strings.Contains(out, "[a,b]") || !strings.Contains(out, "backend.service.nomad") {
		t.Errorf("service list: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "", "-address="+addr, "service", "info", "backend")
	if code != 0 || !strings.Contains(out, "127.0.0.1:22686") || !strings.Contains(out, "7406e90b ") || !strings.Contains(out, "example") || !strings.Contains(out, "DNS Name") || !strings.Contains(out, "backend.service.nomad") {
		t.Errorf("service info: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "", "-address="+addr, "service", "info", "-verbose", "backend")
	if code != 0 || !strings.Contains(out, reg.ID) || !strings.Contains(out, "Datacenter") || !strings.Contains(out, allocID) || !strings.Contains(out, "backend.service.nomad") {
		t.Errorf("service info -verbose: exit %d\n%s%s", code, out, errOut)
	}
	code, _, errOut = runCLI(t, "", "-address="+addr, "service", "info", "missing")
	if code != 1 || !strings.Contains(errOut, `no registrations of service "missing"`) {
		t.Errorf("service info missing: exit %d\n%s", code, errOut)
	}
	code, out, errOut = runCLI(t, "", "-address="+addr, "service", "delete", "backend", reg.ID)
	if code != 0 || !strings.Contains(out, "Successfully deleted") {
		t.Errorf("service delete: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut = runCLI(t, "", "-address="+addr, "service", "delete", "backend"); code != 1 {
		t.Errorf("service delete with one argument: exit %d\n%s", code, errOut)
	}
}
