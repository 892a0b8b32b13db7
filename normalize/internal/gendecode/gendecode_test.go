package gendecode

import (
	"strings"
	"testing"
)

func TestGenerateRejects(t *testing.T) {
	t.Parallel()
	tests := []struct{ src, want string }{
		{"type P struct{ A float64 `json:\"a\"` }", "P.A: type float64 is not supported"},
		{"type P struct{ A string `json:\"a_b\"` }", `json name "a_b" is not ASCII letters only`},
		{"type P struct{ A string `json:\"a\"`; B string `json:\"A\"` }", "equal ignoring case"},
		{"type P struct{ A int `json:\"a,string\"` }", "the ,string option"},
		{"type Q struct{}\ntype P struct{ Q }", "embedded field Q"},
		{"type P struct{ A []int }", "type []int is not supported"},
	}
	for _, tt := range tests {
		files := map[string][]byte{"a.go": []byte("package p\n" + tt.src + "\n")}
		_, err := Generate(Config{Structs: []string{"P"}}, files)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.src, err, tt.want)
		}
	}
}

func TestGenerateFields(t *testing.T) {
	t.Parallel()
	src := "package p\nimport j \"encoding/json\"\n" +
		"type Q struct{ X string }\n" +
		"type P struct {\n" +
		"\tA, B string\n" +
		"\tskipped string\n" +
		"\tC string `json:\"-\"`\n" +
		"\tN j.Number\n" +
		"\tR j.RawMessage `json:\"raw,omitempty\"`\n" +
		"\tQ *Q\n\tQs []Q\n\tM map[string]string\n\tS []string\n\tI int\n\tF bool\n}\n"
	out, err := Generate(Config{Structs: []string{"P"}}, map[string][]byte{"p.go": []byte(src)})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`pFields = []string{"A", "B", "N", "raw", "Q", "Qs", "M", "S", "I", "F"}`,
		"d.setNumber((*string)(&p.N))", "p.R = d.raw()", "p.Q = new(Q)", "d.decQSlice(&p.Qs)",
		"d.strMap(&p.M)", "d.strings(&p.S)", "d.setInt(&p.I)", "d.setBool(&p.F)",
		`qFields = []string{"X"}`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q", want)
		}
	}
}
