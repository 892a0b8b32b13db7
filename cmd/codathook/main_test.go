package main

import (
	"strings"
	"testing"

	"github.com/codathook/codathook/codathooktest"
)

func TestUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		wantCode int
		stdout   string
		stderr   string
	}{
		{"no command", nil, 2, "", "usage:\n  codathook send"},
		{"an unknown command", []string{"sned"}, 2, "", `codathook: unknown command "sned"`},
		{"help", []string{"help"}, 0, "codathook verify  [flags] FILE", ""},
		{"help for a command", []string{"help", "verify"}, 0, "", "usage: codathook verify [flags] FILE"},
		{"-h for a command", []string{"sign", "-h"}, 0, "", "-request"},
		{"samples with an argument", []string{"samples", "x"}, 2, "", "takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := runCLI(t, nil, "", nil, tt.args...)
			if res.code != tt.wantCode || !strings.Contains(res.stdout, tt.stdout) || !strings.Contains(res.stderr, tt.stderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q, %q", res.code, res.stdout, res.stderr, tt.wantCode, tt.stdout, tt.stderr)
			}
		})
	}
}

func TestSamples(t *testing.T) {
	t.Parallel()
	res := runCLI(t, nil, "", nil, "samples")
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	eventTypes, ruleTypes := codathooktest.SampleNames()
	want := append(append([]string{"# new event types (any {dataType}.write.successful or .write.unsuccessful works too)"}, eventTypes...),
		append([]string{"# legacy rule types (send -legacy; case, spaces and a trailing () do not matter)"}, ruleTypes...)...)
	if got := strings.Split(strings.TrimSpace(res.stdout), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("samples printed\n%s\nwant\n%s", res.stdout, strings.Join(want, "\n"))
	}
}
