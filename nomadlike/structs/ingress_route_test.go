package structs

import (
	"strings"
	"testing"
)

func TestParseIngressTag(t *testing.T) {
	cases := []struct {
		tag     string
		want    IngressRoute
		ok, bad bool
		unsup   string
	}{
		{tag: "web", ok: false},
		{tag: "urlprefix-/app", want: IngressRoute{Path: "/app"}, ok: true},
		{tag: "urlprefix-Example.com/app strip=/app", want: IngressRoute{Host: "example.com", Path: "/app", Strip: "/app"}, ok: true},
		{tag: "urlprefix-example.com", want: IngressRoute{Host: "example.com", Path: "/"}, ok: true},
		{tag: "urlprefix-:7000 proto=tcp", want: IngressRoute{TCPPort: 7000}, ok: true},
		{tag: "urlprefix-/x redirect=301,https://a tlsskipverify=true", want: IngressRoute{Path: "/x"}, ok: true, unsup: "redirect,tlsskipverify"},
		{tag: "urlprefix-:7000", ok: true, bad: true},
		{tag: "urlprefix-/a proto=https", ok: true, bad: true},
		{tag: "urlprefix-:0 proto=tcp", ok: true, bad: true},
	}
	for _, c := range cases {
		r, ok, unsup, err := ParseIngressTag(c.tag)
		if ok != c.ok || (err != nil) != c.bad || strings.Join(unsup, ",") != c.unsup || (!c.bad && r != c.want) {
			t.Errorf("ParseIngressTag(%q) = %+v, %v, %v, %v", c.tag, r, ok, unsup, err)
		}
	}
	w := IngressTagWarnings([]string{"urlprefix-/x auth=basic", "urlprefix-:1", "plain"})
	if len(w) != 2 || !strings.Contains(w[0], "auth") || !strings.Contains(w[1], "proto=tcp") {
		t.Fatalf("warnings: %q", w)
	}
}
