// Command codathook sends, signs and verifies Codat webhook deliveries: to
// try a receiver without Codat, and to find out why a delivery was refused.
//
//	go install github.com/codathook/codathook/cmd/codathook@latest
//
// or, in a clone of the repository, go run ./cmd/codathook.
//
//	codathook send [flags] TYPE     post a signed sample delivery of TYPE to a receiver
//	codathook sign [flags] FILE     print the signature headers of a body, or the signed request
//	codathook verify [flags] FILE   verify a captured delivery, and say why it fails
//	codathook samples               list the sample types
//
// "codathook help COMMAND" (or COMMAND -h) describes a command's flags,
// which may come before or after its argument. A FILE of "-" is read from
// standard input.
//
// # send
//
// TYPE is a new event type (any "{dataType}.write.successful" works) or,
// with -legacy, a legacy rule type such as "Push Operation Status Changed()"
// (matched loosely: PushOperationStatusChanged works too). The body is
// Codat's sample for TYPE, generated now, with fresh ids: every send is a
// new occurrence, processed by the receiver. -event-id, -message-id,
// -company, -connection, -sync-id and -push-operation-id set them instead,
// to send a resend (the same -message-id), or the same occurrence in the
// other format (the same -company and -connection), which the receiver
// answers as a duplicate. A rate-limit event carries no id, only its
// quota's expiry, which the samples of both formats share: the receiver
// takes a second one for the same occurrence.
//
// New-format deliveries are signed with every secret of -secret, else of
// CODAT_WEBHOOK_SECRET (space or comma separated), else with the
// quickstart's development secret. Legacy deliveries carry the
// Authorization value of -auth, else the first value of CODAT_LEGACY_AUTH
// (comma separated), else the quickstart's development value; an -auth
// given explicitly is also sent on new-format deliveries, as Codat does
// with a migrated consumer's custom header. send prints the answer's status
// and the headers that explain it (Codathook-Result, Codathook-Match,
// Retry-After, Allow), and exits 1 unless it is a 2xx.
//
// # sign
//
// sign reads a body (exactly: a trailing newline is signed too) and prints
// the webhook-id, webhook-timestamp and webhook-signature headers that sign
// it, or with -request the whole signed HTTP request, in the format verify
// reads.
//
// # verify
//
// verify reads a captured delivery: the HTTP request as
// net/http/httputil.DumpRequest writes it (a request line, the headers, a
// blank line, the body), or just the headers, a blank line and the body.
// Header lines may end in CRLF or LF; the body is taken byte for byte (a
// Content-Length, when present, says where it ends, and a chunked body is
// decoded). It serves the delivery to a codathook receiver configured with
// -secret (and -auth, -tolerance), on the new endpoint or with -legacy the
// legacy one, at the time of -at (default now), and prints the receiver's
// answer. It then says what it found in the headers: which signature sets
// are present, how far the timestamp is from the receiver's clock, which
// secret signed the delivery, or that none did (naming the secrets tried
// by their first characters), and whether the signature matches the body
// as it was before a common change (a trailing newline, CRLF line
// endings, re-indented JSON). It exits 0 when the receiver accepts the
// delivery, 1 when it does not.
//
// # Exit status
//
// 0 on success, 1 when a delivery is refused or fails verification (or
// cannot be sent), 2 for a mistake on the command line.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"
)

func main() {
	c := &cli{getenv: os.Getenv, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, now: time.Now}
	os.Exit(c.run(context.Background(), os.Args[1:]))
}

// cli is the command's environment; tests replace each part.
type cli struct {
	getenv         func(string) string
	stdin          io.Reader
	stdout, stderr io.Writer
	client         *http.Client // nil: a client with a 30 s timeout
	now            func() time.Time
}

// command is one subcommand.
type command struct {
	name, args, summary string
	run                 func(c *cli, ctx context.Context, args []string) error
}

var commands = []command{
	{"send", "[flags] TYPE", "post a signed sample delivery of TYPE to a receiver", (*cli).send},
	{"sign", "[flags] FILE", "print the signature headers of a body (FILE, or - for stdin), or the signed request", (*cli).sign},
	{"verify", "[flags] FILE", "verify a captured delivery (FILE, or - for stdin) and say why it fails", (*cli).verify},
	{"samples", "", "list the sample types that send accepts", (*cli).samples},
}

// usageError is a mistake on the command line (exit status 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// failedError reports a delivery refused or not verified, already
// described on stdout (exit status 1).
type failedError struct{ msg string }

func (e *failedError) Error() string { return e.msg }

// run runs the command line args and returns the exit status.
func (c *cli) run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		c.usage(c.stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 && name == "help" {
			return c.run(ctx, []string{args[1], "-h"})
		}
		c.usage(c.stdout)
		return 0
	}
	i := slices.IndexFunc(commands, func(cmd command) bool { return cmd.name == name })
	if i < 0 {
		fmt.Fprintf(c.stderr, "codathook: unknown command %q\n\n", name)
		c.usage(c.stderr)
		return 2
	}
	err := commands[i].run(c, ctx, args[1:])
	var ue *usageError
	var fe *failedError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errFlagParse):
		return 2 // the flag package has printed the error and the usage
	case errors.As(err, &ue):
		fmt.Fprintf(c.stderr, "codathook %s: %s\n(run \"codathook help %s\" for its flags)\n", name, ue.msg, name)
		return 2
	case errors.As(err, &fe):
		return 1
	default:
		fmt.Fprintf(c.stderr, "codathook %s: %v\n", name, err)
		return 1
	}
}

func (c *cli) usage(w io.Writer) {
	fmt.Fprintf(w, "codathook sends, signs and verifies Codat webhook deliveries.\n\nusage:\n")
	for _, cmd := range commands {
		fmt.Fprintf(w, "  codathook %-7s %-13s %s\n", cmd.name, cmd.args, cmd.summary)
	}
	fmt.Fprintf(w, "\n\"codathook help COMMAND\" describes a command's flags.\n")
}

// errFlagParse marks a flag the flag package refused (it printed why).
var errFlagParse = errors.New("bad flag")

// newFlagSet returns the flag set of a subcommand, printing to stderr.
func (c *cli) newFlagSet(name, args, about string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: codathook %s %s\n\n%s\n\nflags:\n", name, args, about)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args with fs, letting flags follow the positional
// arguments too, and returns the positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, errFlagParse
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// oneArg returns the single positional argument, named what in errors.
func oneArg(pos []string, what, hint string) (string, error) {
	switch len(pos) {
	case 1:
		return pos[0], nil
	case 0:
		return "", usagef("%s is missing%s", what, hint)
	}
	return "", usagef("one %s expected, got %d: %q", what, len(pos), pos)
}

// readInput reads FILE, or standard input for "-", up to max bytes.
func (c *cli) readInput(name string, max int64) ([]byte, error) {
	var r io.Reader
	if name == "-" {
		r = c.stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, usagef("%v", err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if int64(len(b)) > max {
		return nil, usagef("%s is larger than %d bytes", name, max)
	}
	return b, nil
}

// splitList splits a list of values separated by any of seps.
func splitList(s, seps string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(seps, r) })
}
