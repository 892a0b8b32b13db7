package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// binDir holds the command built for the tests; TestMain removes it.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "quickstart-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildCLI builds cmd/codathook once, as "go run ./cmd/codathook" would.
var buildCLI = sync.OnceValues(func() (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(binDir, "codathook")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	out, err := exec.Command(goTool, "build", "-o", bin, "github.com/codathook/codathook/cmd/codathook").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/codathook: %v\n%s", err, out)
	}
	return bin, nil
})

// printed is one command the quickstart printed.
type printed struct {
	args []string // after "codathook"
	says string   // its comment
}

// printedCommands returns the commands in the quickstart's output, in
// order, and the text before each.
func printedCommands(t *testing.T, out string) (cmds []printed, text string) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		rest, ok := strings.CutPrefix(line, cliRun+" ")
		if !ok {
			text += line + "\n"
			continue
		}
		cmd, comment, _ := strings.Cut(rest, "#")
		cmds = append(cmds, printed{strings.Fields(cmd), strings.TrimSpace(comment)})
	}
	return cmds, text
}

// TestPrintedCommands runs every command the quickstart prints, with the
// command built from cmd/codathook, against the running quickstart: with
// both endpoints on, and with the shipped flag file (runbook step 1). The
// first commands are processed, the twin is said to be one on purpose,
// each answer is the one its comment gives, and the log says why a
// duplicate or skipped delivery was not processed.
func TestPrintedCommands(t *testing.T) {
	bin, err := buildCLI()
	if err != nil {
		t.Skip("cannot build the command:", err)
	}
	t.Setenv("CODAT_WEBHOOK_SECRET", "")
	t.Setenv("CODAT_LEGACY_AUTH", "")
	modes := []struct {
		name    string
		args    []string
		results []string // of each printed send, in order
		logs    []string
	}{
		{"both endpoints", nil, []string{"processed", "processed", "processed", "duplicate"},
			[]string{`msg="duplicate: acknowledged, its callback not run again" endpoint=legacy event_type=connection.connected match=twin why="the same occurrence in the other format`}},
		{"the shipped flag file", []string{"-flags", "flags.json"}, []string{"processed", "skipped", "processed", "skipped"},
			[]string{`endpoint=new event_type=connection.connected flag=codat-new-endpoint`}},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			base, stdout, stderr := start(t, m.args...)
			cmds, text := printedCommands(t, stderr.String())
			if !strings.Contains(text, "A twin on purpose") {
				t.Errorf("the twin is not said to be one on purpose:\n%s", text)
			}
			var sends []printed
			for _, c := range cmds {
				if c.args[0] == "send" {
					sends = append(sends, c)
				}
			}
			if len(sends) != len(m.results) {
				t.Fatalf("%d send commands printed, want %d:\n%s", len(sends), len(m.results), stderr)
			}
			for i, c := range sends {
				if !strings.Contains(strings.Join(c.args, " "), base) {
					t.Errorf("command %q does not send to the quickstart at %s", c.args, base)
				}
				if !strings.HasPrefix(c.says, m.results[i]) {
					t.Errorf("command %d says %q, want %s", i+1, c.says, m.results[i])
				}
				out, err := exec.CommandContext(t.Context(), bin, c.args...).CombinedOutput()
				if err != nil {
					t.Errorf("%s %q: %v\n%s", cliRun, c.args, err, out)
				}
				if want := "Codathook-Result: " + m.results[i] + "\n"; !strings.Contains(string(out), want) {
					t.Errorf("%s %q printed\n%s\nwant %q, as its comment says (%s)", cliRun, c.args, out, want, c.says)
				}
				if strings.Contains(c.says, "Codathook-Match: twin") && !strings.Contains(string(out), "Codathook-Match: twin\n") {
					t.Errorf("%s %q printed\n%s\nwant the twin match its comment promises", cliRun, c.args, out)
				}
			}
			for _, want := range m.logs {
				wantLog(t, stderr, want)
			}
			wantCallbacks := 0
			for _, r := range m.results {
				if r == "processed" {
					wantCallbacks++
				}
			}
			if got := len(lines(t, stdout.String())); got != wantCallbacks {
				t.Errorf("callbacks ran %d times, want %d (once per processed answer)", got, wantCallbacks)
			}
			for _, c := range cmds {
				if c.args[0] == "send" {
					continue
				}
				if out, err := exec.CommandContext(t.Context(), bin, c.args...).CombinedOutput(); err != nil {
					t.Errorf("%s %q: %v\n%s", cliRun, c.args, err, out)
				}
			}
		})
	}
}

// TestHints checks the commands printed at each flag state, without a
// server: processed ones first, then the twin, with the answer each gets.
func TestHints(t *testing.T) {
	t.Parallel()
	tests := []struct {
		eps            endpoints
		singles, twins []string // results
		first          string   // the twin's first format
	}{
		{endpoints{legacy: true, new: true}, []string{"processed", "processed"}, []string{"processed", "duplicate"}, "-url"},
		{endpoints{legacy: true}, []string{"processed", "skipped"}, []string{"processed", "skipped"}, "-legacy"},
		{endpoints{new: true}, []string{"processed", "skipped"}, []string{"processed", "skipped"}, "-url"},
		{endpoints{}, []string{"skipped", "skipped"}, []string{"skipped", "skipped"}, "-legacy"},
	}
	for _, tt := range tests {
		singles, twin := hints("http://h", tt.eps, "co", "conn")
		var gotS, gotT []string
		for _, h := range singles {
			gotS = append(gotS, h.result)
		}
		for _, h := range twin {
			gotT = append(gotT, h.result)
		}
		if fmt.Sprint(gotS) != fmt.Sprint(tt.singles) || fmt.Sprint(gotT) != fmt.Sprint(tt.twins) {
			t.Errorf("%+v: singles %v, twin %v; want %v, %v", tt.eps, gotS, gotT, tt.singles, tt.twins)
		}
		if twin[0].args[1] != tt.first || !strings.Contains(strings.Join(twin[1].args, " "), "-company co -connection conn") {
			t.Errorf("%+v: twin %q, want %s first and both of company co, connection conn", tt.eps, twin, tt.first)
		}
	}
}
