package codathook

import "testing"

func TestDistance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "abc", 3},
		{"abc", "", 3},
		{"read.completed", "read.completed", 0},
		{"read.complete", "read.completed", 1},
		{"conection", "connection", 1},
		{"invocies", "invoices", 1}, // one swap of adjacent letters
		{"kitten", "sitting", 3},
		{"ca", "abc", 3}, // optimal string alignment: no edit of a swapped pair
	}
	for _, tc := range tests {
		if got := distance(tc.a, tc.b); got != tc.want {
			t.Errorf("distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := distance(tc.b, tc.a); got != tc.want {
			t.Errorf("distance(%q, %q) = %d, want %d (symmetric)", tc.b, tc.a, got, tc.want)
		}
	}
}

func TestSuggestNothingFar(t *testing.T) {
	t.Parallel()
	names := []string{"connection.connected", "read.completed", "invoices.write.successful"}
	for _, p := range []string{"foo.bar", "x", "invoices.approved", "zzz.*"} {
		if got := suggest(p, names); got != "" {
			t.Errorf("suggest(%q) = %q, want none", p, got)
		}
	}
}
