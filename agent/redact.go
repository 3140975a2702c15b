package agent

import "strings"

// redacted replaces a secret's value in what the API serves, as Nomad's.
const redacted = "<redacted>"

// secretKeyWords mark a configuration key whose string value is a secret:
// the gossip key (Server.Encrypt), ACL tokens, node secrets, passwords,
// private keys. Paths to key files are not secrets.
var secretKeyWords = []string{"encrypt", "token", "secret", "password", "privatekey"}

// isSecretKey reports whether a JSON key names a secret value.
func isSecretKey(k string) bool {
	k = strings.ToLower(k)
	if strings.HasSuffix(k, "file") || strings.HasSuffix(k, "path") || strings.HasSuffix(k, "dir") {
		return false
	}
	for _, w := range secretKeyWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// redactSecrets replaces, in place, the non-empty string values of secret
// keys anywhere in v (a JSON document decoded into maps and slices).
func redactSecrets(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			if isSecretKey(k) && hasString(val) {
				t[k] = redacted
				continue
			}
			redactSecrets(val)
		}
	case []any:
		for _, e := range t {
			redactSecrets(e)
		}
	}
}

// hasString reports whether v is a non-empty string or holds one.
func hasString(v any) bool {
	switch t := v.(type) {
	case string:
		return t != ""
	case []any:
		for _, e := range t {
			if hasString(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range t {
			if hasString(e) {
				return true
			}
		}
	}
	return false
}
