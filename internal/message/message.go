package message

import (
	"errors"
	"fmt"
	htemplate "html/template"
	"io"
	"slices"
	"strings"
	ttemplate "text/template"
	"time"

	"golang.org/x/text/language"
)

// Channels.
const (
	ChannelSMS   = "sms"
	ChannelEmail = "email"
)

// Purposes.
const (
	PurposeSignIn          = "sign_in"
	PurposeSignUp          = "sign_up"
	PurposeVerifyAttribute = "verify_attribute"
)

// DefaultLocale is the last resort of every fallback chain.
const DefaultLocale = "en"

// maxTemplateLen bounds each override template's source.
const maxTemplateLen = 128 << 10

// Data is what one message says.
type Data struct {
	Code    string
	AppName string
	// Expiry is how long the code lives; 0 leaves the expiry out of the
	// built-in texts.
	Expiry time.Duration
	// Purpose is PurposeSignIn, PurposeSignUp or PurposeVerifyAttribute.
	// The attribute-specific purposes the auth engine uses, "verify_email"
	// and "verify_phone_number" (any "verify_" prefix), mean
	// PurposeVerifyAttribute.
	Purpose string
}

// LocaleOverride is a pool's templates for one locale. Empty fields keep
// the built-in template, if the locale has one.
type LocaleOverride struct {
	SMS          string `json:"sms,omitempty"`
	EmailSubject string `json:"email_subject,omitempty"`
	EmailText    string `json:"email_text,omitempty"`
	EmailHTML    string `json:"email_html,omitempty"`
}

// Overrides are a pool's templates by BCP 47 locale tag ("en", "pt-BR").
type Overrides map[string]LocaleOverride

// Rendered is a rendered message. For the SMS channel Text is the SMS and
// SMS describes it; for email, Subject, Text and HTML are set (HTML may be
// "" for a text-only email) and SMS is zero.
type Rendered struct {
	// Locale is the tag of the locale whose templates were used.
	Locale  string
	Subject string
	Text    string
	HTML    string
	SMS     SMSInfo
}

// Warning returns "" or, when the SMS needs more than one segment, a
// sentence the caller should log.
func (r Rendered) Warning() string { return r.SMS.Warning() }

// Templates are a pool's message templates: the built-in ones with the
// pool's overrides on top. They are immutable and safe for concurrent use.
// A nil *Templates renders the built-in templates.
type Templates struct {
	defaultLocale string
	locales       map[string]*localeTemplates
	// baseRep maps a base language to the locale that stands for it.
	baseRep  map[string]string
	autofill Autofill
}

type localeTemplates struct {
	tag     string
	sms     *ttemplate.Template
	subject *ttemplate.Template
	text    *ttemplate.Template
	html    *htemplate.Template // nil: text-only email
	words   *phrases            // nil: no built-in words
}

func (l *localeTemplates) hasEmail() bool { return l.subject != nil && l.text != nil }

// view is the data templates see; see the package comment.
type view struct {
	Code, AppName, Purpose, Locale  string
	ExpiryMinutes                   int
	ExpiryText                      string
	SignIn, SignUp, VerifyAttribute bool
}

var builtinTemplates = func() map[string]*localeTemplates {
	m := make(map[string]*localeTemplates, len(builtins))
	for tag, p := range builtins {
		l := &localeTemplates{tag: tag, words: &p}
		if err := l.apply(builtinSources(tag, p), true); err != nil {
			panic(err)
		}
		m[tag] = l
	}
	return m
}()

var defaultTemplates = func() *Templates {
	t, err := New(DefaultLocale, nil)
	if err != nil {
		panic(err)
	}
	return t
}()

// New returns the built-in templates with o on top. defaultLocale is the
// pool's default locale ("" means "en"). Locale tags are BCP 47 with only
// language, script and region subtags; "_" may stand for "-".
func New(defaultLocale string, o Overrides) (*Templates, error) {
	if defaultLocale == "" {
		defaultLocale = DefaultLocale
	}
	def, err := overrideKey(defaultLocale)
	if err != nil {
		return nil, fmt.Errorf("message: default locale %q: %w", defaultLocale, err)
	}
	t := &Templates{
		defaultLocale: def,
		locales:       make(map[string]*localeTemplates, len(builtinTemplates)+len(o)),
	}
	for tag, l := range builtinTemplates {
		t.locales[tag] = l
	}

	keys := make([]string, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var errs []error
	seen := make(map[string]string, len(o))
	for _, k := range keys {
		tag, err := overrideKey(k)
		if err != nil {
			errs = append(errs, fmt.Errorf("message: locale %q: %w", k, err))
			continue
		}
		if prev, dup := seen[tag]; dup {
			errs = append(errs, fmt.Errorf("message: locales %q and %q are the same locale %s", prev, k, tag))
			continue
		}
		seen[tag] = k
		l := &localeTemplates{tag: tag}
		if b := builtinTemplates[tag]; b != nil {
			c := *b
			l = &c
		}
		if err := l.apply(o[k], false); err != nil {
			errs = append(errs, err)
			continue
		}
		t.locales[tag] = l
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	tags := make([]string, 0, len(t.locales))
	for tag := range t.locales {
		tags = append(tags, tag)
	}
	slices.Sort(tags)
	t.baseRep = make(map[string]string)
	for _, tag := range tags {
		base := baseOf(tag)
		if _, ok := t.baseRep[base]; !ok || tag == base {
			t.baseRep[base] = tag
		}
	}
	return t, nil
}

// WithAutofill returns a copy of t that adds a's lines to every SMS.
func (t *Templates) WithAutofill(a Autofill) (*Templates, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	a.WebOTPHost = strings.ToLower(a.WebOTPHost)
	if t == nil {
		t = defaultTemplates
	}
	c := *t
	c.autofill = a
	return &c, nil
}

// Autofill returns the autofill settings of t.
func (t *Templates) Autofill() Autofill {
	if t == nil {
		return Autofill{}
	}
	return t.autofill
}

// DefaultLocale returns the pool's default locale tag.
func (t *Templates) DefaultLocale() string {
	if t == nil {
		return DefaultLocale
	}
	return t.defaultLocale
}

// apply parses o's non-empty fields into l and checks them. builtin says
// whether they are the built-in sources (whose errors are bugs).
func (l *localeTemplates) apply(o LocaleOverride, builtin bool) error {
	if o == (LocaleOverride{}) {
		return fmt.Errorf("message: locale %s: no templates", l.tag)
	}
	var errs []error
	fail := func(field string, err error) {
		errs = append(errs, fmt.Errorf("message: locale %s: %s: %w", l.tag, field, err))
	}
	text := func(field, src string, needCode bool) *ttemplate.Template {
		if src == "" {
			return nil
		}
		if len(src) > maxTemplateLen {
			fail(field, fmt.Errorf("template longer than %d bytes", maxTemplateLen))
			return nil
		}
		tm, err := ttemplate.New(l.tag + "/" + field).Option("missingkey=error").Parse(src)
		if err != nil {
			fail(field, err)
			return nil
		}
		if err := check(l.tag, field, tm, needCode); err != nil {
			fail(field, err)
			return nil
		}
		return tm
	}
	if tm := text("sms", o.SMS, true); tm != nil {
		l.sms = tm
	}
	if tm := text("email_subject", o.EmailSubject, false); tm != nil {
		l.subject = tm
	}
	if tm := text("email_text", o.EmailText, true); tm != nil {
		l.text = tm
		if o.EmailHTML == "" && !builtin {
			l.html = nil // the built-in HTML would no longer match the text
		}
	}
	if src := o.EmailHTML; src != "" {
		if len(src) > maxTemplateLen {
			fail("email_html", fmt.Errorf("template longer than %d bytes", maxTemplateLen))
		} else if tm, err := htemplate.New(l.tag + "/email_html").Option("missingkey=error").Parse(src); err != nil {
			fail("email_html", err)
		} else if err := check(l.tag, "email_html", tm, true); err != nil {
			fail("email_html", err)
		} else {
			l.html = tm
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if (l.subject != nil || l.text != nil || l.html != nil) && !l.hasEmail() {
		return fmt.Errorf("message: locale %s: %s has no built-in templates, so an email override needs both email_subject and email_text", l.tag, l.tag)
	}
	return nil
}

type executor interface {
	Execute(w io.Writer, data any) error
}

// sampleCode is a code no template would contain by chance.
const sampleCode = "90817263"

// check executes tm for every purpose with sample data and, when needCode,
// requires the code in the output. Subjects must not come out empty.
func check(tag, field string, tm executor, needCode bool) error {
	for _, purpose := range []string{PurposeSignIn, PurposeSignUp, PurposeVerifyAttribute} {
		for _, expiry := range []time.Duration{10 * time.Minute, 0} {
			v := newView(Data{Code: sampleCode, AppName: "Sample App", Expiry: expiry, Purpose: purpose}, purpose, tag, builtins[DefaultLocale])
			var b strings.Builder
			if err := tm.Execute(&b, v); err != nil {
				return err
			}
			out := b.String()
			if needCode && !strings.Contains(out, sampleCode) {
				return fmt.Errorf("the template does not show the code ({{.Code}}) for purpose %s", purpose)
			}
			if !needCode && strings.TrimSpace(out) == "" {
				return fmt.Errorf("the template renders empty for purpose %s", purpose)
			}
		}
	}
	return nil
}

func newView(d Data, purpose, tag string, words phrases) view {
	v := view{
		Code:            d.Code,
		AppName:         d.AppName,
		Purpose:         purpose,
		Locale:          tag,
		SignIn:          purpose == PurposeSignIn,
		SignUp:          purpose == PurposeSignUp,
		VerifyAttribute: purpose == PurposeVerifyAttribute,
	}
	if d.Expiry > 0 {
		v.ExpiryMinutes = max(1, int(d.Expiry/time.Minute))
		v.ExpiryText = words.expiryText(v.ExpiryMinutes)
	}
	return v
}

// normalizePurpose maps a purpose to one of the three Purpose constants.
func normalizePurpose(p string) (string, error) {
	switch {
	case p == PurposeSignIn, p == PurposeSignUp, p == PurposeVerifyAttribute:
		return p, nil
	case strings.HasPrefix(p, "verify_") && len(p) > len("verify_"):
		return PurposeVerifyAttribute, nil
	}
	return "", fmt.Errorf("message: unknown purpose %q", p)
}

// Render renders the message for channel (ChannelSMS or ChannelEmail) in
// the best locale for locale (see the package comment).
func (t *Templates) Render(locale, channel string, d Data) (Rendered, error) {
	if t == nil {
		t = defaultTemplates
	}
	purpose, err := normalizePurpose(d.Purpose)
	if err != nil {
		return Rendered{}, err
	}
	if d.Code == "" {
		return Rendered{}, errors.New("message: empty code")
	}
	if channel != ChannelSMS && channel != ChannelEmail {
		return Rendered{}, fmt.Errorf("message: unknown channel %q", channel)
	}
	chain := t.chain(locale)
	var l *localeTemplates
	var words *phrases
	for _, tag := range chain {
		c := t.locales[tag]
		if c == nil {
			continue
		}
		if l == nil && (channel == ChannelSMS && c.sms != nil || channel == ChannelEmail && c.hasEmail()) {
			l = c
		}
		if l != nil && c.words != nil {
			words = c.words
			break
		}
	}
	if l == nil || words == nil { // cannot happen: en has everything
		return Rendered{}, errors.New("message: no template found")
	}
	v := newView(d, purpose, l.tag, *words)
	r := Rendered{Locale: l.tag}

	exec := func(tm executor) (string, error) {
		var b strings.Builder
		if err := tm.Execute(&b, v); err != nil {
			return "", fmt.Errorf("message: %w", err)
		}
		return b.String(), nil
	}
	if channel == ChannelSMS {
		body, err := exec(l.sms)
		if err != nil {
			return Rendered{}, err
		}
		if body, err = t.autofill.apply(body, d.Code); err != nil {
			return Rendered{}, err
		}
		r.Text = body
		r.SMS = AnalyzeSMS(body)
		return r, nil
	}
	subject, err := exec(l.subject)
	if err != nil {
		return Rendered{}, err
	}
	// One line, whatever the app name holds: a header cannot break.
	r.Subject = strings.Join(strings.Fields(subject), " ")
	if r.Text, err = exec(l.text); err != nil {
		return Rendered{}, err
	}
	if l.html != nil {
		if r.HTML, err = exec(l.html); err != nil {
			return Rendered{}, err
		}
	}
	return r, nil
}

// chain lists the locale tags to try for a recipient's locale.
func (t *Templates) chain(locale string) []string {
	c := make([]string, 0, 5)
	c = t.candidates(c, locale)
	c = t.candidates(c, t.defaultLocale)
	return append(c, DefaultLocale)
}

func (t *Templates) candidates(c []string, locale string) []string {
	tag, err := normalizeTag(locale)
	if err != nil {
		return c
	}
	c = append(c, tag)
	if rep, ok := t.baseRep[baseOf(tag)]; ok && rep != tag {
		c = append(c, rep)
	}
	return c
}

// normalizeTag parses a BCP 47 tag (accepting "_" for "-", any case) and
// returns its language[-Script][-REGION] part in canonical form.
func normalizeTag(s string) (string, error) {
	s = strings.ReplaceAll(strings.TrimSpace(s), "_", "-")
	if s == "" {
		return "", errors.New("empty locale")
	}
	t, err := language.Parse(s)
	if err != nil {
		return "", err
	}
	b, sc, r := t.Raw()
	if b == (language.Base{}) || b.String() == "und" {
		return "", errors.New("undetermined language")
	}
	out := b.String()
	if sc.String() != "Zzzz" {
		out += "-" + sc.String()
	}
	if r.String() != "ZZ" {
		out += "-" + r.String()
	}
	return out, nil
}

// overrideKey normalises a configured locale tag, which must have no
// variants or extensions.
func overrideKey(s string) (string, error) {
	tag, err := normalizeTag(s)
	if err != nil {
		return "", err
	}
	full, _ := language.Parse(strings.ReplaceAll(strings.TrimSpace(s), "_", "-"))
	if full.String() != tag {
		return "", fmt.Errorf("only language, script and region subtags are supported (did you mean %q?)", tag)
	}
	return tag, nil
}

func baseOf(tag string) string {
	if i := strings.IndexByte(tag, '-'); i >= 0 {
		return tag[:i]
	}
	return tag
}
