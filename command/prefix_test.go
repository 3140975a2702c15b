package command

import "testing"

func TestMatchPrefix(t *testing.T) {
	tests := []struct {
		name          string
		prefix        string
		ids           []string
		wantID        string
		wantAmbiguous bool
	}{
		{"none", "ab", nil, "", false},
		{"one", "ab", []string{"abcd"}, "abcd", false},
		{"several", "ab", []string{"abcd", "abef"}, "", true},
		{"exact wins over longer", "web", []string{"web", "web-2"}, "web", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, amb := matchPrefix(tt.prefix, tt.ids)
			if id != tt.wantID || amb != tt.wantAmbiguous {
				t.Errorf("matchPrefix(%q, %q) = %q, %t; want %q, %t", tt.prefix, tt.ids, id, amb, tt.wantID, tt.wantAmbiguous)
			}
		})
	}
}
