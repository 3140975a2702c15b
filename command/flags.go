package command

import "strings"

// normaliseArgs rewrites Nomad's single-dash long flags to the double-dash
// form pflag expects: "-address=x" becomes "--address=x" and "-detach"
// becomes "--detach". Single-letter flags ("-f", "-n=5"), a lone "-" (stdin)
// and everything after "--" are left alone. args excludes the program name.
func normaliseArgs(args []string) []string {
	out := make([]string, 0, len(args))
	raw := rawArgsStart(args) // alloc exec's command and its arguments
	for i, a := range args {
		if a == "--" || i >= raw {
			out = append(out, args[i:]...)
			break
		}
		if len(a) > 2 && a[0] == '-' && a[1] != '-' && flagNameLen(a[1:]) > 1 {
			a = "-" + a
		}
		out = append(out, a)
	}
	return out
}

// flagNameLen returns the length of the flag name in s ("name" or "name=value").
func flagNameLen(s string) int {
	if i := strings.IndexByte(s, '='); i >= 0 {
		return i
	}
	return len(s)
}
