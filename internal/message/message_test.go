package message

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

var purposes = []string{PurposeSignIn, PurposeSignUp, PurposeVerifyAttribute}

func mustNew(t *testing.T, def string, o Overrides) *Templates {
	t.Helper()
	tpl, err := New(def, o)
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

func TestBuiltinLocales(t *testing.T) {
	want := []string{"de", "en", "es", "fr", "it", "ja", "nl", "pt-BR"}
	if got := BuiltinLocales(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("BuiltinLocales() = %v, want %v", got, want)
	}
}

// Every built-in locale renders every channel and purpose, in itself, with
// the code in every body.
func TestBuiltinRender(t *testing.T) {
	tpl := mustNew(t, "en", nil)
	for _, loc := range BuiltinLocales() {
		for _, p := range purposes {
			d := Data{Code: "48151623", AppName: "Acme", Expiry: 10 * time.Minute, Purpose: p}
			t.Run(loc+"/"+p, func(t *testing.T) {
				sms, err := tpl.Render(loc, ChannelSMS, d)
				if err != nil {
					t.Fatal(err)
				}
				if sms.Locale != loc || !strings.Contains(sms.Text, d.Code) || !strings.Contains(sms.Text, d.AppName) {
					t.Errorf("SMS (%s) = %q", sms.Locale, sms.Text)
				}
				if sms.Subject != "" || sms.HTML != "" || sms.SMS.Encoding == "" {
					t.Errorf("SMS rendering %+v", sms)
				}
				email, err := tpl.Render(loc, ChannelEmail, d)
				if err != nil {
					t.Fatal(err)
				}
				if email.Locale != loc {
					t.Errorf("email locale %s", email.Locale)
				}
				if email.Subject == "" || strings.ContainsAny(email.Subject, "\r\n") || strings.Contains(email.Subject, d.Code) {
					t.Errorf("subject %q: want one line, without the code", email.Subject)
				}
				for part, s := range map[string]string{"text": email.Text, "html": email.HTML} {
					if !strings.Contains(s, d.Code) || !strings.Contains(s, d.AppName) {
						t.Errorf("%s part lacks the code or app name: %q", part, s)
					}
				}
				if !strings.Contains(email.HTML, `<html lang="`+loc+`">`) {
					t.Errorf("HTML lacks lang=%q", loc)
				}
				if email.SMS != (SMSInfo{}) || email.Warning() != "" {
					t.Errorf("email has SMS info %+v", email.SMS)
				}
			})
		}
	}
}

// Every built-in SMS fits one segment with an 8-digit code, a 20-character
// app name and any expiry: GSM-7 for Latin-script languages, 70 UCS-2 code
// units for Japanese.
func TestBuiltinSMSFitsOneSegment(t *testing.T) {
	tpl := mustNew(t, "en", nil)
	apps := []string{strings.Repeat("A", 20), "Zürich Bäckerei Café", "WWWWWWWWWWWWWWWWWWWW"}
	expiries := []time.Duration{0, time.Minute, 3 * time.Minute, 10 * time.Minute, 59 * time.Minute, 90 * time.Minute, time.Hour, 24 * time.Hour, 999 * time.Minute}
	for _, loc := range BuiltinLocales() {
		for _, p := range purposes {
			for _, app := range apps {
				if len([]rune(app)) != 20 {
					t.Fatalf("app name %q is not 20 characters", app)
				}
				for _, exp := range expiries {
					r, err := tpl.Render(loc, ChannelSMS, Data{Code: "12345678", AppName: app, Expiry: exp, Purpose: p})
					if err != nil {
						t.Fatal(err)
					}
					wantEnc := EncodingGSM7
					if loc == "ja" {
						wantEnc = EncodingUCS2
					}
					if r.SMS.Encoding != wantEnc || r.SMS.Segments != 1 || r.Warning() != "" {
						t.Errorf("%s %s %q %v: %+v, want one %s segment: %q", loc, p, app, exp, r.SMS, wantEnc, r.Text)
					}
				}
			}
		}
	}
}

// The wording differs by purpose.
func TestBuiltinWordingByPurpose(t *testing.T) {
	tpl := mustNew(t, "en", nil)
	for _, loc := range BuiltinLocales() {
		for _, ch := range []string{ChannelSMS, ChannelEmail} {
			seen := map[string]string{}
			for _, p := range purposes {
				r, err := tpl.Render(loc, ch, Data{Code: "123456", AppName: "Acme", Expiry: time.Hour, Purpose: p})
				if err != nil {
					t.Fatal(err)
				}
				key := r.Text + "\x00" + r.Subject
				if other, dup := seen[key]; dup {
					t.Errorf("%s %s: %s and %s read the same", loc, ch, other, p)
				}
				seen[key] = p
			}
		}
	}
}

func TestExpiryText(t *testing.T) {
	tests := []struct {
		locale string
		expiry time.Duration
		want   string
	}{
		{"en", time.Minute, "It expires in 1 minute."},
		{"en", 30 * time.Second, "It expires in 1 minute."},
		{"en", 90 * time.Second, "It expires in 1 minute."},
		{"en", 10 * time.Minute, "It expires in 10 minutes."},
		{"en", time.Hour, "It expires in 1 hour."},
		{"en", 90 * time.Minute, "It expires in 90 minutes."},
		{"en", 24 * time.Hour, "It expires in 24 hours."},
		{"de", 10 * time.Minute, "Er ist 10 Minuten gültig."},
		{"de", time.Hour, "Er ist 1 Stunde gültig."},
		{"nl", 24 * time.Hour, "De code is 24 uur geldig."},
		{"fr", 2 * time.Hour, "Il expire dans 2 heures."},
		{"it", time.Hour, "Scade tra 1 ora."},
		{"ja", 10 * time.Minute, "有効期限は10分です。"},
		{"ja", 3 * time.Hour, "有効期限は3時間です。"},
	}
	for _, tt := range tests {
		r, err := (*Templates)(nil).Render(tt.locale, ChannelSMS, Data{Code: "123456", AppName: "Acme", Expiry: tt.expiry, Purpose: PurposeSignIn})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(r.Text, tt.want) {
			t.Errorf("%s %v: %q lacks %q", tt.locale, tt.expiry, r.Text, tt.want)
		}
	}
	// No expiry: no expiry sentence, in SMS or email.
	for _, ch := range []string{ChannelSMS, ChannelEmail} {
		r, err := (*Templates)(nil).Render("en", ch, Data{Code: "123456", AppName: "Acme", Purpose: PurposeSignIn})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(r.Text+r.HTML, "expire") {
			t.Errorf("%s without expiry: %q", ch, r.Text)
		}
	}
}

func TestFallbackChain(t *testing.T) {
	over := Overrides{
		"fr-CA": {SMS: "Code {{.Code}} (fr-CA)"},
		"es-MX": {SMS: "Código {{.Code}} (es-MX)"},
		"sv":    {SMS: "Din kod: {{.Code}}"},
		"pt-PT": {SMS: "O seu código: {{.Code}}"},
	}
	tests := []struct {
		name, def, locale, channel, want string
	}{
		{"exact built-in", "en", "pt-BR", ChannelSMS, "pt-BR"},
		{"underscore", "en", "pt_BR", ChannelSMS, "pt-BR"},
		{"case-insensitive", "en", "PT-br", ChannelEmail, "pt-BR"},
		{"base language stands for its locale", "en", "pt", ChannelSMS, "pt-BR"},
		{"sibling region via base language", "en", "pt-AO", ChannelEmail, "pt-BR"},
		{"region falls to base", "en", "de-AT", ChannelEmail, "de"},
		{"extensions ignored", "en", "fr-FR-u-ca-gregory", ChannelSMS, "fr"},
		{"exact override", "en", "fr-CA", ChannelSMS, "fr-CA"},
		{"override lacks email: base language", "en", "fr-CA", ChannelEmail, "fr"},
		{"exact override es-MX", "en", "es_mx", ChannelSMS, "es-MX"},
		{"base beats sibling override", "en", "es-AR", ChannelSMS, "es"},
		{"override for a new language", "de", "sv-SE", ChannelSMS, "sv"},
		{"new language without email: pool default", "de", "sv", ChannelEmail, "de"},
		{"unknown language: pool default", "it", "fi", ChannelSMS, "it"},
		{"unknown language, default region", "pt-BR", "fi", ChannelEmail, "pt-BR"},
		{"default by base language", "ja-JP", "ko", ChannelSMS, "ja"},
		{"garbage locale: pool default", "nl", "!!not a tag", ChannelSMS, "nl"},
		{"empty locale: pool default", "nl", "", ChannelEmail, "nl"},
		{"default without templates: en", "fi", "ko", ChannelSMS, "en"},
		{"script subtag", "en", "zh-Hant-TW", ChannelSMS, "en"},
		{"exact beats base", "en", "pt-PT", ChannelSMS, "pt-PT"},
		{"pt-PT email: base language pt-BR", "en", "pt-PT", ChannelEmail, "pt-BR"},
		{"en-GB", "de", "en-GB", ChannelSMS, "en"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl := mustNew(t, tt.def, over)
			r, err := tpl.Render(tt.locale, tt.channel, Data{Code: "123456", AppName: "Acme", Expiry: time.Minute, Purpose: PurposeSignIn})
			if err != nil {
				t.Fatal(err)
			}
			if r.Locale != tt.want {
				t.Errorf("Render(%q, %s) with default %s used %s, want %s", tt.locale, tt.channel, tt.def, r.Locale, tt.want)
			}
		})
	}
}

func TestHTMLEscaping(t *testing.T) {
	tpl := mustNew(t, "en", Overrides{
		"de": {EmailHTML: `<p title="{{.AppName}}">{{.AppName}}</p><a href="https://example.com/?c={{.Code}}">{{.Code}}</a><script>var app = {{.AppName}};</script>`},
	})
	const app = `<script>alert("x")</script> & Co`
	for _, loc := range []string{"en", "fr", "ja", "de"} {
		r, err := tpl.Render(loc, ChannelEmail, Data{Code: "123456", AppName: app, Expiry: time.Minute, Purpose: PurposeSignUp})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(r.HTML, "<script>alert") || strings.Contains(r.HTML, `"x"`) || strings.Contains(r.HTML, "& Co") {
			t.Errorf("%s: app name not escaped in HTML: %s", loc, r.HTML)
		}
		if !strings.Contains(r.HTML, "&lt;script&gt;") && !strings.Contains(r.HTML, `\u003cscript\u003e`) {
			t.Errorf("%s: escaped app name missing from HTML: %s", loc, r.HTML)
		}
		// The text part and subject are plain text: no escaping.
		if !strings.Contains(r.Text, app) || !strings.Contains(r.Subject, app) {
			t.Errorf("%s: text part or subject mangled the app name: %q / %q", loc, r.Subject, r.Text)
		}
	}
	r, err := tpl.Render("en", ChannelSMS, Data{Code: "123456", AppName: "A&B <x>", Purpose: PurposeSignIn})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Text, "A&B <x>") {
		t.Errorf("SMS escaped the app name: %q", r.Text)
	}
}

func TestSubjectIsOneLine(t *testing.T) {
	r, err := (*Templates)(nil).Render("en", ChannelEmail, Data{Code: "123456", AppName: "Acme\r\nBcc: victim@example.com", Purpose: PurposeSignIn})
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(r.Subject, "\r\n") {
		t.Errorf("subject %q has a line break", r.Subject)
	}
}

func TestOverrides(t *testing.T) {
	tpl := mustNew(t, "en", Overrides{
		"en": {SMS: "{{.AppName}} code {{.Code}} ({{.ExpiryMinutes}} min, {{.ExpiryText}}, {{.Purpose}}, {{.Locale}}, {{.SignIn}}{{.SignUp}}{{.VerifyAttribute}})"},
		"de": {EmailSubject: "{{if .SignUp}}Willkommen bei {{.AppName}}{{else}}Code für {{.AppName}}{{end}}"},
		"fr": {EmailText: "Code : {{.Code}}"},
		"sv": {SMS: "Din kod för {{.AppName}}: {{.Code}}", EmailSubject: "Din kod", EmailText: "Kod: {{.Code}}"},
		"it": {EmailHTML: "<b>{{.Code}}</b>"},
	})
	d := Data{Code: "123456", AppName: "Acme", Expiry: 15 * time.Minute, Purpose: "verify_email"}
	render := func(loc, ch string, d Data) Rendered {
		t.Helper()
		r, err := tpl.Render(loc, ch, d)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	if got, want := render("en", ChannelSMS, d).Text, "Acme code 123456 (15 min, 15 minutes, verify_attribute, en, falsefalsetrue)"; got != want {
		t.Errorf("en SMS = %q, want %q", got, want)
	}
	// Only the subject is replaced; body stays built-in.
	de := render("de", ChannelEmail, Data{Code: "123456", AppName: "Acme", Purpose: PurposeSignUp})
	if de.Subject != "Willkommen bei Acme" || !strings.Contains(de.Text, "Mit diesem Code") || de.HTML == "" {
		t.Errorf("de: %q / %q", de.Subject, de.Text)
	}
	// A text override drops the built-in HTML.
	fr := render("fr", ChannelEmail, d)
	if fr.Text != "Code : 123456" || fr.HTML != "" || !strings.HasPrefix(fr.Subject, "Vérifiez") {
		t.Errorf("fr: %+v", fr)
	}
	// An HTML override keeps the built-in text.
	it := render("it", ChannelEmail, d)
	if it.HTML != "<b>123456</b>" || !strings.Contains(it.Text, "Usa questo codice") {
		t.Errorf("it: %+v", it)
	}
	// A new locale with SMS and text-only email.
	sv := render("sv", ChannelEmail, d)
	if sv.Subject != "Din kod" || sv.Text != "Kod: 123456" || sv.HTML != "" || sv.Locale != "sv" {
		t.Errorf("sv: %+v", sv)
	}
	// A locale without built-in words gets en's for .ExpiryText.
	if got := render("sv", ChannelSMS, d).Text; got != "Din kod för Acme: 123456" {
		t.Errorf("sv SMS = %q", got)
	}
	// Other locales are unaffected.
	if got := render("es", ChannelSMS, d).Text; !strings.HasPrefix(got, "123456 es tu clave") {
		t.Errorf("es SMS = %q", got)
	}
}

func TestOverridesJSON(t *testing.T) {
	const js = `{"pt_BR":{"sms":"{{.Code}} - {{.AppName}}","email_subject":"Assunto","email_text":"Texto {{.Code}}","email_html":"<p>{{.Code}}</p>"}}`
	var o Overrides
	if err := json.Unmarshal([]byte(js), &o); err != nil {
		t.Fatal(err)
	}
	want := LocaleOverride{SMS: "{{.Code}} - {{.AppName}}", EmailSubject: "Assunto", EmailText: "Texto {{.Code}}", EmailHTML: "<p>{{.Code}}</p>"}
	if o["pt_BR"] != want {
		t.Fatalf("decoded %+v", o)
	}
	tpl := mustNew(t, "pt-BR", o)
	r, err := tpl.Render("pt-BR", ChannelEmail, Data{Code: "777", AppName: "X", Purpose: PurposeSignIn})
	if err != nil || r.Subject != "Assunto" || r.Text != "Texto 777" || r.HTML != "<p>777</p>" {
		t.Errorf("render: %+v, %v", r, err)
	}
	out, err := json.Marshal(Overrides{"en": {SMS: "{{.Code}}"}})
	if err != nil || string(out) != `{"en":{"sms":"{{.Code}}"}}` {
		t.Errorf("marshal = %s, %v", out, err)
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name    string
		def     string
		o       Overrides
		wantErr []string // substrings of the error
	}{
		{"unknown language", "en", Overrides{"xx": {SMS: "{{.Code}}"}}, []string{`"xx"`, "unknown"}},
		{"not a tag", "en", Overrides{"english please": {SMS: "{{.Code}}"}}, []string{`"english please"`}},
		{"undetermined", "en", Overrides{"und": {SMS: "{{.Code}}"}}, []string{`"und"`, "undetermined"}},
		{"empty tag", "en", Overrides{"": {SMS: "{{.Code}}"}}, []string{`""`}},
		{"extension", "en", Overrides{"en-US-u-va-posix": {SMS: "{{.Code}}"}}, []string{"en-US-u-va-posix", "did you mean \"en-US\""}},
		{"same locale twice", "en", Overrides{"pt-BR": {SMS: "{{.Code}}"}, "pt_br": {SMS: "{{.Code}}"}}, []string{"same locale pt-BR"}},
		{"bad default locale", "zz-top", nil, []string{"default locale", "zz-top"}},
		{"no templates", "en", Overrides{"de": {}}, []string{"locale de", "no templates"}},
		{"sms without code", "en", Overrides{"fr": {SMS: "Bonjour {{.AppName}}"}}, []string{"locale fr", "sms", "{{.Code}}"}},
		{"code only for one purpose", "en", Overrides{"fr": {SMS: "{{if .SignIn}}{{.Code}}{{end}}"}}, []string{"locale fr", "sms", "sign_up"}},
		{"text without code", "en", Overrides{"de": {EmailText: "Hallo"}}, []string{"locale de", "email_text", "{{.Code}}"}},
		{"html without code", "en", Overrides{"de": {EmailHTML: "<p>Hallo</p>"}}, []string{"locale de", "email_html", "{{.Code}}"}},
		{"sms parse error", "en", Overrides{"it": {SMS: "{{.Code"}}, []string{"locale it", "sms", "it/sms"}},
		{"html parse error", "en", Overrides{"it": {EmailHTML: "{{if .SignIn}}{{.Code}}"}}, []string{"locale it", "email_html"}},
		{"unknown field", "en", Overrides{"nl": {EmailText: "{{.Code}} {{.Cod}}"}}, []string{"locale nl", "email_text", "Cod"}},
		{"bad function", "en", Overrides{"nl": {SMS: "{{upper .Code}}"}}, []string{"locale nl", "sms", "upper"}},
		{"empty subject", "en", Overrides{"en": {EmailSubject: "{{if .SignUp}}Welcome{{end}}"}}, []string{"locale en", "email_subject", "empty"}},
		{"html escaping error", "en", Overrides{"ja": {EmailHTML: "<a href='{{.Code}}>{{.Code}}"}}, []string{"locale ja", "email_html"}},
		{"new locale, email without text", "en", Overrides{"sv": {EmailSubject: "Kod", EmailHTML: "<p>{{.Code}}</p>"}}, []string{"locale sv", "email_subject and email_text"}},
		{"new locale, email without subject", "en", Overrides{"sv": {EmailText: "{{.Code}}"}}, []string{"locale sv", "email_subject and email_text"}},
		{"too long", "en", Overrides{"en": {SMS: "{{.Code}}" + strings.Repeat(" ", maxTemplateLen)}}, []string{"locale en", "sms", "longer"}},
		{"several errors at once", "en", Overrides{"de": {SMS: "x"}, "fr": {EmailText: "y"}}, []string{"locale de", "locale fr"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl, err := New(tt.def, tt.o)
			if err == nil {
				t.Fatalf("New succeeded: %+v", tpl)
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
		})
	}
}

func TestNewAcceptsTags(t *testing.T) {
	for _, tag := range []string{"en", "pt_BR", "zh-Hant-TW", "sr-Latn", "es-419", "iw"} {
		if _, err := New(tag, Overrides{tag: {SMS: "{{.Code}}"}}); err != nil {
			t.Errorf("%s: %v", tag, err)
		}
	}
	if tpl := mustNew(t, "", nil); tpl.DefaultLocale() != "en" {
		t.Errorf("default locale %q", tpl.DefaultLocale())
	}
	if tpl := mustNew(t, "pt_br", nil); tpl.DefaultLocale() != "pt-BR" {
		t.Errorf("default locale %q", tpl.DefaultLocale())
	}
}

func TestRenderErrors(t *testing.T) {
	ok := Data{Code: "123456", AppName: "Acme", Purpose: PurposeSignIn}
	tests := []struct {
		name, channel string
		d             Data
		wantErr       string
	}{
		{"unknown purpose", ChannelSMS, Data{Code: "1", Purpose: "reset_password"}, "purpose"},
		{"empty purpose", ChannelSMS, Data{Code: "1"}, "purpose"},
		{"bare verify_", ChannelSMS, Data{Code: "1", Purpose: "verify_"}, "purpose"},
		{"empty code", ChannelEmail, Data{Purpose: PurposeSignIn}, "code"},
		{"unknown channel", "push", ok, "channel"},
	}
	for _, tt := range tests {
		if _, err := (*Templates)(nil).Render("en", tt.channel, tt.d); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: error %v, want one mentioning %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestPurposeAliases(t *testing.T) {
	for _, p := range []string{"verify_email", "verify_phone_number"} {
		for _, ch := range []string{ChannelSMS, ChannelEmail} {
			a, err1 := (*Templates)(nil).Render("en", ch, Data{Code: "1", AppName: "A", Purpose: p})
			b, err2 := (*Templates)(nil).Render("en", ch, Data{Code: "1", AppName: "A", Purpose: PurposeVerifyAttribute})
			if err1 != nil || err2 != nil || a != b {
				t.Errorf("%s %s: %+v %v, want %+v %v", p, ch, a, err1, b, err2)
			}
		}
	}
}

// A long app name makes a two-segment SMS, which Warning reports.
func TestRenderWarning(t *testing.T) {
	r, err := (*Templates)(nil).Render("en", ChannelSMS, Data{Code: "12345678", AppName: strings.Repeat("Acme ", 15), Expiry: time.Minute, Purpose: PurposeSignUp})
	if err != nil {
		t.Fatal(err)
	}
	if r.SMS.Segments != 2 || !strings.Contains(r.Warning(), "2 segments") {
		t.Errorf("SMS %+v, warning %q", r.SMS, r.Warning())
	}
	// A non-GSM app name switches to UCS-2.
	r, err = (*Templates)(nil).Render("en", ChannelSMS, Data{Code: "12345678", AppName: "Çafé Ōsaka", Expiry: time.Minute, Purpose: PurposeSignIn})
	if err != nil {
		t.Fatal(err)
	}
	if r.SMS.Encoding != EncodingUCS2 || r.SMS.Segments != 2 || r.Warning() == "" {
		t.Errorf("SMS %+v, warning %q", r.SMS, r.Warning())
	}
}

func TestConcurrentRender(t *testing.T) {
	tpl := mustNew(t, "fr", Overrides{"de": {EmailHTML: "<p>{{.AppName}} {{.Code}}</p>"}})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				loc := BuiltinLocales()[(i+j)%len(BuiltinLocales())]
				for _, ch := range []string{ChannelSMS, ChannelEmail} {
					if _, err := tpl.Render(loc, ch, Data{Code: fmt.Sprint(100000 + j), AppName: "<b>", Expiry: time.Minute, Purpose: purposes[j%3]}); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}
