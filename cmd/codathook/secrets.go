package main

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/codathook/codathook/codathooktest"
)

// Environment variables read for the defaults of -secret and -auth, as the
// quickstart reads them.
const (
	envSecret = "CODAT_WEBHOOK_SECRET"
	envAuth   = "CODAT_LEGACY_AUTH"
)

// minSecretBytes is the shortest decoded key a codathook receiver accepts.
const minSecretBytes = 16

// secrets returns the signing secrets of the -secret flag's value, else of
// $CODAT_WEBHOOK_SECRET, else the development secret when dev is true,
// each checked. A secret that a receiver would refuse is a usage error
// naming where it came from and why.
func (c *cli) secrets(flagValue string, dev bool) ([]string, error) {
	source, value := "-secret", flagValue
	if strings.TrimSpace(value) == "" {
		source, value = "$"+envSecret, c.getenv(envSecret)
	}
	if strings.TrimSpace(value) == "" {
		if !dev {
			return nil, usagef("-secret is required (or set %s): the whsec_ signing secret of the endpoint", envSecret)
		}
		return []string{codathooktest.DevSecret}, nil
	}
	list := splitList(value, " ,")
	for i, s := range list {
		if err := checkSecret(s); err != nil {
			which := source
			if len(list) > 1 {
				which = fmt.Sprintf("%s, secret %d of %d", source, i+1, len(list))
			}
			return nil, usagef("%s (%s): %v", which, mask(s), err)
		}
	}
	return list, nil
}

// checkSecret says why a receiver would refuse s as a signing secret
// ("whsec_" followed by standard base64 of at least 16 bytes, or the bare
// base64), or why codathooktest could not sign with it.
func checkSecret(s string) error {
	raw := strings.TrimPrefix(s, "whsec_")
	switch {
	case strings.ContainsAny(s, `"'`):
		return fmt.Errorf("contains quotes: give the secret without them")
	case raw == "":
		return fmt.Errorf("is empty after whsec_")
	case strings.HasPrefix(strings.ToLower(s), "whsec") && !strings.HasPrefix(s, "whsec_"):
		return fmt.Errorf("starts with %q: a signing secret starts with whsec_ (lowercase, then an underscore)", s[:min(len(s), 6)])
	}
	key, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		if k, e := base64.RawStdEncoding.DecodeString(raw); e == nil && len(k) >= minSecretBytes {
			return fmt.Errorf("lacks its base64 padding (the = at its end)")
		} else if e == nil {
			key, err = k, nil
		}
	}
	if err != nil {
		for _, enc := range []*base64.Encoding{base64.URLEncoding, base64.RawURLEncoding} {
			if _, e := enc.DecodeString(raw); e == nil {
				return fmt.Errorf("is URL-safe base64 (- and _): signing secrets are standard base64 (+ and /)")
			}
		}
		return fmt.Errorf("is not whsec_ followed by standard base64 (%v)", err)
	}
	if len(key) < minSecretBytes {
		return fmt.Errorf("decodes to %d bytes; a receiver needs at least %d (Codat's are 24)", len(key), minSecretBytes)
	}
	if _, err := codathooktest.NewSigner(s); err != nil {
		return fmt.Errorf("is not canonical base64")
	}
	return nil
}

// mask shows the first characters of a secret, enough to tell secrets
// apart and not enough to use one.
func mask(s string) string {
	raw, prefix := s, ""
	if r, ok := strings.CutPrefix(s, "whsec_"); ok {
		raw, prefix = r, "whsec_"
	}
	n := min(4, len(raw)/4)
	return prefix + raw[:n] + "…"
}

// authorization returns the Authorization value of the -auth flag, else
// the first value of $CODAT_LEGACY_AUTH, else the development value when
// dev is true (else "").
func (c *cli) authorization(flagValue string, dev bool) string {
	if flagValue != "" {
		return flagValue
	}
	for _, v := range strings.Split(c.getenv(envAuth), ",") {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	if dev {
		return codathooktest.DevAuthorization
	}
	return ""
}
