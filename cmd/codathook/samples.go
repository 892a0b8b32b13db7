package main

import (
	"context"
	"fmt"

	"github.com/codathook/codathook/codathooktest"
)

// samples lists the types send accepts.
func (c *cli) samples(_ context.Context, args []string) error {
	fs := c.newFlagSet("samples", "", "Lists the new event types and the legacy rule types that send has a sample for.")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("takes no arguments, got %q", pos)
	}
	eventTypes, ruleTypes := codathooktest.SampleNames()
	fmt.Fprintln(c.stdout, "# new event types (any {dataType}.write.successful or .write.unsuccessful works too)")
	for _, t := range eventTypes {
		fmt.Fprintln(c.stdout, t)
	}
	fmt.Fprintln(c.stdout, "# legacy rule types (send -legacy; case, spaces and a trailing () do not matter)")
	for _, t := range ruleTypes {
		fmt.Fprintln(c.stdout, t)
	}
	return nil
}
