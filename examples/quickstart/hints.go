package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/codathook/codathook/codathooktest"
	"github.com/codathook/codathook/toggle"
)

// hint is one command the quickstart prints, and the answer it gets.
type hint struct {
	args   []string // after "codathook"
	result string   // its Codathook-Result
	why    string   // what the comment after it says
}

// cliRun is how the printed commands run the command, from the root of a
// clone of the repository.
const cliRun = "go run ./cmd/codathook"

// hints returns the commands to print for a receiver at base with eps on:
// a delivery to each endpoint, processed where its flag is on, and then a
// twin on purpose, the same occurrence (of twinCompany and twinConn) in
// both formats.
func hints(base string, eps endpoints, twinCompany, twinConn string) (singles, twin []hint) {
	type delivery struct {
		on   bool
		args []string
		flag string
	}
	newD := delivery{eps.new, []string{"send", "-url", base + "/webhooks/codat", "connection.connected"}, toggle.DefaultNewFlag}
	legacyD := delivery{eps.legacy, []string{"send", "-legacy", "-url", base + "/webhooks/codat/legacy", "DataConnectionStatusChanged"}, toggle.DefaultLegacyFlag}
	order := []delivery{newD, legacyD}
	if !eps.new {
		order = []delivery{legacyD, newD}
	}
	skipped := func(d delivery) hint {
		return hint{d.args, "skipped", "skipped: " + d.flag + " is off"}
	}
	for _, d := range order { // the processed ones first
		if d.on {
			singles = append(singles, hint{d.args, "processed", "processed"})
		}
	}
	for _, d := range order {
		if !d.on {
			singles = append(singles, skipped(d))
		}
	}
	withTwin := func(d delivery) []string {
		n := len(d.args)
		return append(append(d.args[:n-1:n-1], "-company", twinCompany, "-connection", twinConn), d.args[n-1])
	}
	first, second := order[0], order[1]
	h1 := hint{withTwin(first), "processed", "processed"}
	if !first.on {
		h1 = skipped(first)
		h1.args = withTwin(first)
	}
	var h2 hint
	switch {
	case !second.on:
		h2 = hint{withTwin(second), "skipped", "skipped: " + second.flag + " is off (the migration page still shows the two twinned)"}
	case first.on:
		h2 = hint{withTwin(second), "duplicate", "duplicate (Codathook-Match: twin): its callback does not run again"}
	default:
		h2 = hint{withTwin(second), "processed", "processed (its twin was skipped, so it is the one processed)"}
	}
	return singles, []hint{h1, h2}
}

// printHints writes the commands of hints, each with its answer, after
// the runbook step that eps are at when they come from a flag file.
func printHints(w io.Writer, base string, eps endpoints, fromFile bool) {
	id := strings.ReplaceAll(codathooktest.NewID(), "-", "")[:8]
	singles, twin := hints(base, eps, "company-"+id, "connection-"+id)
	line := func(h hint) { fmt.Fprintf(w, "  %s %s   # %s\n", cliRun, strings.Join(h.args, " "), h.why) }
	if fromFile {
		fmt.Fprintf(w, "The flag file, as it is now: %s (docs/MIGRATION.md has each step's file).\n", step(eps))
	}
	fmt.Fprintf(w, "Send signed sample deliveries from another terminal, in the repository's root (or, after\n")
	fmt.Fprintf(w, "go install github.com/codathook/codathook/cmd/codathook@latest, run codathook instead of %s).\n", cliRun)
	fmt.Fprintf(w, "Every id is fresh, so each is a new occurrence:\n")
	for _, h := range singles {
		line(h)
	}
	fmt.Fprintf(w, "A twin on purpose: one occurrence in both formats, as Codat's two consumers deliver it\n")
	fmt.Fprintf(w, "while you migrate (the same company and connection); the receiver processes it once:\n")
	for _, h := range twin {
		line(h)
	}
	fmt.Fprintf(w, "  %s samples   # every sample type; %s help shows sign and verify too\n", cliRun, cliRun)
}

// step names the runbook step that eps are at.
func step(eps endpoints) string {
	switch {
	case eps.legacy && !eps.new:
		return toggle.DefaultNewFlag + " off, as at runbook step 1: the legacy endpoint is authoritative"
	case eps.legacy && eps.new:
		return "both endpoints on, as at runbook step 4: each occurrence is processed once, by either"
	case eps.new:
		return toggle.DefaultLegacyFlag + " off, as at runbook step 5: the new endpoint is authoritative"
	}
	return "both endpoints off: every delivery is acknowledged and none processed"
}
