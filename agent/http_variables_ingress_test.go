package agent

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestNodeSecretIngressVariables is the attack test of the ingress's
// variable access with ACLs enabled: a node's secret, naming its node,
// reads, lists and writes the variables below structs.IngressVariablePrefix
// in the default namespace, and nothing else; without the node header, with
// another node's ID, or elsewhere it is refused.
func TestNodeSecretIngressVariables(t *testing.T) {
	a, _, _ := aclDevAgent(t)
	ctx := context.Background()
	node := testNode()
	if _, err := a.server.RegisterNode(ctx, node); err != nil {
		t.Fatalf("RegisterNode: %v", err)
	}
	other := testNode()
	if _, err := a.server.RegisterNode(ctx, other); err != nil {
		t.Fatalf("RegisterNode: %v", err)
	}
	base, err := api.NewClient(api.Config{Address: "http://" + a.HTTPAddr(), Token: node.SecretID})
	if err != nil {
		t.Fatal(err)
	}
	asNode := base.AsNode(node.ID)
	for _, path := range []string{"secret/db", "nomadlike/ingressx/cert", "nomad/jobs/web"} {
		if _, err := a.server.ApplyVariable(ctx, structs.VarOpSet, &structs.VariableDecrypted{
			VariableMetadata: structs.VariableMetadata{Namespace: "default", Path: path}, Items: map[string]string{"password": "hunter2"}}, nil); err != nil {
			t.Fatalf("ApplyVariable %s: %v", path, err)
		}
	}
	certPath := structs.IngressVariablePrefix + "/certs/app"
	v := &structs.VariableDecrypted{VariableMetadata: structs.VariableMetadata{Namespace: "default", Path: certPath}, Items: map[string]string{"cert": "c", "key": "k"}}
	if _, err := asNode.PutVariable(ctx, v, "", nil); err != nil {
		t.Fatalf("the node writes below %s: %v", structs.IngressVariablePrefix, err)
	}
	if got, _, err := asNode.Variable(ctx, certPath, nil); err != nil || got.Items["key"] != "k" {
		t.Fatalf("the node reads below %s: %+v %v", structs.IngressVariablePrefix, got, err)
	}
	list, _, err := asNode.Variables(ctx, &api.QueryOptions{Namespace: "*"})
	if err != nil || len(list) != 1 || list[0].Path != certPath {
		t.Fatalf("the node's list shows only the ingress's variables: %+v %v", list, err)
	}

	denied := func(what string, err error) {
		t.Helper()
		var e *api.Error
		if err == nil || !errors.As(err, &e) || e.StatusCode != http.StatusForbidden {
			t.Fatalf("%s: got %v, want 403", what, err)
		}
	}
	for _, path := range []string{"secret/db", "nomadlike/ingressx/cert", "nomad/jobs/web"} {
		_, _, err := asNode.Variable(ctx, path, nil)
		denied("the node reads "+path, err)
		_, err = asNode.PutVariable(ctx, &structs.VariableDecrypted{VariableMetadata: structs.VariableMetadata{Namespace: "default", Path: path},
			Items: map[string]string{"x": "y"}}, "", nil)
		denied("the node writes "+path, err)
	}
	_, err = asNode.PutVariable(ctx, &structs.VariableDecrypted{VariableMetadata: structs.VariableMetadata{Namespace: "other", Path: certPath},
		Items: map[string]string{"x": "y"}}, "", nil)
	denied("the node writes the prefix in another namespace", err)
	_, _, err = base.Variable(ctx, certPath, nil)
	denied("the node's secret without naming the node", err)
	_, _, err = base.AsNode(other.ID).Variable(ctx, certPath, nil)
	denied("the node's secret naming another node", err)
	_, _, err = base.AsNode(other.ID).Variables(ctx, &api.QueryOptions{Prefix: structs.IngressVariablePrefix})
	denied("a list with the node's secret naming another node (an error, not an empty list to wait on)", err)
	anon, _ := api.NewClient(api.Config{Address: "http://" + a.HTTPAddr(), Token: structs.GenerateUUID()})
	_, _, err = anon.AsNode(node.ID).Variable(ctx, certPath, nil)
	denied("a made-up secret naming the node", err)
}

// TestNodeSecretReadsServiceCatalog: with ACLs enabled a client's node
// secret, naming its node, reads the service catalog of every namespace
// (its DNS server and ingress watch it); the secret without the node, or
// naming another node, is refused, and so is anonymous access.
func TestNodeSecretReadsServiceCatalog(t *testing.T) {
	a, _, _ := aclDevAgent(t)
	ctx := context.Background()
	node, other := testNode(), testNode()
	for _, n := range []*structs.Node{node, other} {
		if _, err := a.server.RegisterNode(ctx, n); err != nil {
			t.Fatalf("RegisterNode: %v", err)
		}
	}
	base, err := api.NewClient(api.Config{Address: "http://" + a.HTTPAddr(), Token: node.SecretID})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := base.AsNode(node.ID).ListServices(ctx, &api.QueryOptions{Namespace: "*"}); err != nil {
		t.Fatalf("the node lists the services: %v", err)
	}
	if _, _, err := base.AsNode(node.ID).ServiceRegistrations(ctx, "web", &api.QueryOptions{Namespace: "default"}); err != nil {
		t.Fatalf("the node reads a service: %v", err)
	}
	denied := func(what string, err error) {
		t.Helper()
		var e *api.Error
		if err == nil || !errors.As(err, &e) || e.StatusCode != http.StatusForbidden {
			t.Fatalf("%s: got %v, want 403", what, err)
		}
	}
	_, _, err = base.ListServices(ctx, &api.QueryOptions{Namespace: "*"})
	denied("the node's secret without naming the node", err)
	_, _, err = base.AsNode(other.ID).ListServices(ctx, &api.QueryOptions{Namespace: "*"})
	denied("the node's secret naming another node", err)
	_, _, err = base.AsNode(other.ID).ServiceRegistrations(ctx, "web", &api.QueryOptions{Namespace: "default"})
	denied("a service read with the node's secret naming another node", err)
	anon, _ := api.NewClient(api.Config{Address: "http://" + a.HTTPAddr()})
	_, _, err = anon.ServiceRegistrations(ctx, "web", &api.QueryOptions{Namespace: "default"})
	denied("an anonymous service read", err)
}
