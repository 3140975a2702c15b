package structs

import "testing"

func TestComputeClass(t *testing.T) {
	base := func() *Node {
		return &Node{
			Datacenter: "dc1", NodeClass: "web", NodePool: "default",
			Attributes: map[string]string{"kernel.name": "linux", "unique.hostname": "a"},
			Meta:       map[string]string{"rack": "r1", "unique.serial": "1"},
			Drivers:    map[string]*DriverInfo{"raw_exec": {Detected: true, Healthy: true}},
		}
	}
	class := func(edit func(n *Node)) string {
		n := base()
		if edit != nil {
			edit(n)
		}
		n.ComputeClass()
		return n.ComputedClass
	}
	ref := class(nil)
	if len(ref) < 4 || ref[:3] != "v1:" {
		t.Fatalf("got class %q, want v1:<hash>", ref)
	}
	for _, tc := range []struct {
		name string
		edit func(n *Node)
		same bool
	}{
		{"unique attribute", func(n *Node) { n.Attributes["unique.hostname"] = "b" }, true},
		{"unique meta", func(n *Node) { n.Meta["unique.serial"] = "2" }, true},
		{"name and ID", func(n *Node) { n.Name, n.ID = "other", "id" }, true},
		{"empty pool is default", func(n *Node) { n.NodePool = "" }, true},
		{"attribute", func(n *Node) { n.Attributes["kernel.name"] = "windows" }, false},
		{"meta", func(n *Node) { n.Meta["rack"] = "r2" }, false},
		{"datacenter", func(n *Node) { n.Datacenter = "dc2" }, false},
		{"node class", func(n *Node) { n.NodeClass = "" }, false},
		{"pool", func(n *Node) { n.NodePool = "gpu" }, false},
		{"driver health", func(n *Node) { n.Drivers["raw_exec"].Healthy = false }, false},
		{"extra driver", func(n *Node) { n.Drivers["qemu"] = &DriverInfo{Detected: true, Healthy: true} }, false},
		{"key moved from attributes to meta", func(n *Node) { delete(n.Attributes, "kernel.name"); n.Meta["kernel.name"] = "linux" }, false},
	} {
		if got := class(tc.edit); (got == ref) != tc.same {
			t.Errorf("%s: got class %q vs %q, want same=%v", tc.name, got, ref, tc.same)
		}
	}
}
