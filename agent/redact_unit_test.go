package agent

import "testing"

func TestRedactSecrets(t *testing.T) {
	doc := map[string]any{
		"Server": map[string]any{"Encrypt": "k", "Enabled": true},
		"ACL":    map[string]any{"ReplicationToken": "t", "TokenTTL": float64(30), "Enabled": true},
		"TLS":    map[string]any{"KeyFile": "/etc/key.pem", "CAFile": "/etc/ca.pem"},
		"Vault":  []any{map[string]any{"Token": "v", "Name": "default"}},
		"Empty":  map[string]any{"Encrypt": ""},
	}
	redactSecrets(doc)
	want := map[string]any{
		"Server.Encrypt": redacted, "ACL.ReplicationToken": redacted, "ACL.TokenTTL": float64(30),
		"TLS.KeyFile": "/etc/key.pem", "Vault.0.Token": redacted, "Vault.0.Name": "default", "Empty.Encrypt": "",
	}
	get := func(path ...any) any {
		var v any = doc
		for _, p := range path {
			switch k := p.(type) {
			case string:
				v = v.(map[string]any)[k]
			case int:
				v = v.([]any)[k]
			}
		}
		return v
	}
	got := map[string]any{
		"Server.Encrypt": get("Server", "Encrypt"), "ACL.ReplicationToken": get("ACL", "ReplicationToken"),
		"ACL.TokenTTL": get("ACL", "TokenTTL"), "TLS.KeyFile": get("TLS", "KeyFile"),
		"Vault.0.Token": get("Vault", 0, "Token"), "Vault.0.Name": get("Vault", 0, "Name"), "Empty.Encrypt": get("Empty", "Encrypt"),
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %v, want %v", k, got[k], w)
		}
	}
}
