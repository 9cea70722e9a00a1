package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/latchkey/latchkey/internal/deliver/providers"
	"github.com/latchkey/latchkey/internal/pool"
)

// deliveryFlags are the flags that set a pool's delivery settings, shared
// by pools create and pools update. Secrets are never flags: the delivery
// file names the environment variable or file that holds each one.
type deliveryFlags struct {
	file string
	// tests are --test-identity values in order: a code, or "" to remove.
	tests []testIdentityFlag
}

type testIdentityFlag struct{ dest, code string }

func defineDeliveryFlags(fs *flag.FlagSet) *deliveryFlags {
	df := &deliveryFlags{}
	fs.StringVar(&df.file, "delivery-file", "", "replace the pool's delivery settings (providers, templates, test identities) with this JSON file; see docs/delivery.md")
	fs.Func("test-identity", "add a test identity DEST=CODE whose code is fixed and never sent, or remove one with DEST= (repeatable)", func(v string) error {
		dest, code, ok := strings.Cut(v, "=")
		if !ok {
			return fmt.Errorf("want DEST=CODE or DEST=, got %q", v)
		}
		norm, err := providers.NormalizeDestination(strings.TrimSpace(dest))
		if err != nil {
			return err
		}
		df.tests = append(df.tests, testIdentityFlag{dest: norm, code: strings.TrimSpace(code)})
		return nil
	})
	return df
}

// load reads the delivery file, if one was given. A file holding null
// removes the pool's delivery settings.
func (df *deliveryFlags) load() (d *pool.Delivery, given bool, err error) {
	if df.file == "" {
		return nil, false, nil
	}
	data, err := os.ReadFile(df.file)
	if err != nil {
		return nil, false, fmt.Errorf("--delivery-file: %w", err)
	}
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		return nil, true, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	d = &pool.Delivery{}
	if err := dec.Decode(d); err != nil {
		return nil, false, fmt.Errorf("--delivery-file %s: %w", df.file, err)
	}
	if dec.More() {
		return nil, false, fmt.Errorf("--delivery-file %s: unexpected data after the JSON object", df.file)
	}
	return d, true, nil
}

// apply sets s's delivery from the file and the --test-identity flags,
// validates the result fully, and returns what changed, without secrets.
// Without those flags it changes nothing.
func (df *deliveryFlags) apply(s *pool.Settings) ([]string, error) {
	d, given, err := df.load()
	if err != nil {
		return nil, err
	}
	if !given && len(df.tests) == 0 {
		return nil, nil
	}
	before := s.Delivery
	next := cloneDelivery(before)
	if given {
		next = d
	}
	if len(df.tests) > 0 {
		if next == nil {
			next = &pool.Delivery{}
		}
		next.TestIdentities = applyTestIdentities(next.TestIdentities, df.tests)
	}
	if next != nil && isEmptyDelivery(next) {
		next = nil
	}
	if err := providers.Validate(next, *s); err != nil {
		return nil, err
	}
	s.Delivery = next
	return deliveryChanges(before, next), nil
}

func applyTestIdentities(ids []pool.TestIdentity, flags []testIdentityFlag) []pool.TestIdentity {
	out := slices.Clone(ids)
	for _, f := range flags {
		i := slices.IndexFunc(out, func(t pool.TestIdentity) bool { return t.Destination == f.dest })
		switch {
		case f.code == "" && i >= 0:
			out = slices.Delete(out, i, i+1)
		case f.code == "":
		case i >= 0:
			out[i].Code = f.code
		default:
			out = append(out, pool.TestIdentity{Destination: f.dest, Code: f.code})
		}
	}
	return out
}

func cloneDelivery(d *pool.Delivery) *pool.Delivery {
	if d == nil {
		return nil
	}
	c := *d
	c.TestIdentities = slices.Clone(d.TestIdentities)
	return &c
}

func isEmptyDelivery(d *pool.Delivery) bool {
	return len(d.SMS) == 0 && len(d.Email) == 0 && d.DefaultLocale == "" && len(bytes.TrimSpace(d.Templates)) == 0 &&
		d.Autofill == nil && len(d.TestIdentities) == 0
}

// deliveryChanges describes the difference between two delivery settings
// in lines a person reads. Secrets appear only as where they are read
// from; test codes not at all.
func deliveryChanges(before, after *pool.Delivery) []string {
	var out []string
	for _, ch := range []string{pool.ChannelSMS, pool.ChannelEmail} {
		b, a := describeProviders(before.Providers(ch)), describeProviders(after.Providers(ch))
		if b != a {
			out = append(out, fmt.Sprintf("%s providers: %s (was: %s)", ch, a, b))
		}
	}
	var bLocale, aLocale string
	var bTemplates, aTemplates json.RawMessage
	var bAuto, aAuto *pool.Autofill
	if before != nil {
		bLocale, bTemplates, bAuto = before.DefaultLocale, before.Templates, before.Autofill
	}
	if after != nil {
		aLocale, aTemplates, aAuto = after.DefaultLocale, after.Templates, after.Autofill
	}
	if bLocale != aLocale {
		out = append(out, fmt.Sprintf("default locale: %s (was: %s)", orDefault(aLocale, "en"), orDefault(bLocale, "en")))
	}
	if !jsonEqual(bTemplates, aTemplates) {
		out = append(out, fmt.Sprintf("templates: %s (was: %s)", describeTemplates(aTemplates), describeTemplates(bTemplates)))
	}
	if describeAutofill(bAuto) != describeAutofill(aAuto) {
		out = append(out, fmt.Sprintf("autofill: %s (was: %s)", describeAutofill(aAuto), describeAutofill(bAuto)))
	}
	out = append(out, testIdentityChanges(before, after)...)
	return out
}

func describeProviders(ps []pool.Provider) string {
	if len(ps) == 0 {
		return "none (the server's default sender)"
	}
	parts := make([]string, 0, len(ps))
	for _, p := range ps {
		s := p.Type
		if p.Name != "" && p.Name != p.Type {
			s += fmt.Sprintf(" %q", p.Name)
		}
		if len(p.Secrets) > 0 {
			var refs []string
			for _, name := range slices.Sorted(maps.Keys(p.Secrets)) {
				refs = append(refs, name+" from "+p.Secrets[name].String())
			}
			s += " [" + strings.Join(refs, ", ") + "]"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", then ")
}

func describeTemplates(raw json.RawMessage) string {
	var o map[string]json.RawMessage
	if err := json.Unmarshal(raw, &o); err != nil || len(o) == 0 {
		return "built-in"
	}
	return "overrides for " + strings.Join(slices.Sorted(maps.Keys(o)), ", ")
}

func describeAutofill(a *pool.Autofill) string {
	if a == nil || (a.WebOTPHost == "" && a.AndroidAppHash == "") {
		return "none"
	}
	var parts []string
	if a.WebOTPHost != "" {
		parts = append(parts, "webotp_host="+a.WebOTPHost)
	}
	if a.AndroidAppHash != "" {
		parts = append(parts, "android_app_hash="+a.AndroidAppHash)
	}
	return strings.Join(parts, " ")
}

func testIdentityChanges(before, after *pool.Delivery) []string {
	codes := func(d *pool.Delivery) map[string]string {
		m := map[string]string{}
		if d != nil {
			for _, t := range d.TestIdentities {
				m[t.Destination] = t.Code
			}
		}
		return m
	}
	b, a := codes(before), codes(after)
	var out []string
	for _, dest := range slices.Sorted(maps.Keys(a)) {
		code, was := b[dest]
		switch {
		case !was:
			out = append(out, "test identity added: "+dest)
		case code != a[dest]:
			out = append(out, "test identity code changed: "+dest)
		}
	}
	for _, dest := range slices.Sorted(maps.Keys(b)) {
		if _, ok := a[dest]; !ok {
			out = append(out, "test identity removed: "+dest)
		}
	}
	return out
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	errA, errB := json.Unmarshal(a, &x), json.Unmarshal(b, &y)
	if errA != nil || errB != nil {
		return bytes.Equal(bytes.TrimSpace(a), bytes.TrimSpace(b))
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return bytes.Equal(ja, jb)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// warnUnresolved tells the operator which secrets this machine cannot
// read. They are not errors: the nodes that send need them, and the
// machine running the command may not be one.
func warnUnresolved(w io.Writer, d *pool.Delivery, getenv func(string) string) {
	for _, u := range (&providers.Builder{Getenv: getenv}).Unresolved(d) {
		fmt.Fprintf(w, "note: %s on this machine; every server node needs it\n", u)
	}
}
