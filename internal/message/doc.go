// Package message renders the one-time-code messages a pool sends by SMS
// and email: the SMS text, and the email subject, plain-text body and HTML
// body, in the recipient's language, with per-pool overrides.
//
// # Built-in locales
//
// en (the last-resort fallback), es, fr, de, pt-BR, it, nl and ja; see
// BuiltinLocales. The wording differs by purpose: signing in, confirming a
// sign-up, and verifying a new email address or phone number. For that last
// one the SMS says "this phone number" and the email "this email address",
// since a code for a new attribute is sent to that attribute.
//
// Every built-in SMS fits one segment with an 8-digit code, an app name of
// up to 20 characters and any expiry: the Latin-script ones use only GSM-7
// characters (at most 160 septets), the Japanese one (UCS-2 whatever we do)
// at most 70 UTF-16 code units. An app name with characters outside GSM-7,
// or a long one, can push a message to UCS-2 or to two segments:
// Rendered.Warning says so.
//
// Emails put the code in the body, never in the subject.
//
// # Locale fallback
//
// Render looks for the templates of, in order: the recipient's locale
// exactly (language, script and region; "pt_BR", "PT-br" and "pt-BR" are the
// same), its base language ("pt"; when there is no "pt", the first locale of
// that language in tag order, so a "pt" or "pt-PT" reader gets pt-BR), then
// the same two steps for the pool's default locale, then "en". Each channel
// resolves on its own: a pool that overrides only the SMS of "sv" sends
// Swedish SMS and default-locale email. An unparsable recipient locale is
// skipped.
//
// # Templates and their fields
//
// Templates use Go template syntax. The SMS, the subject and the text body
// are text/template; the HTML body is html/template, so every value is
// escaped for where it appears. The data is:
//
//	{{.Code}}            the one-time code
//	{{.AppName}}         the pool's app name
//	{{.ExpiryMinutes}}   the code's lifetime in whole minutes (rounded down,
//	                     at least 1), or 0 when Data.Expiry is 0
//	{{.ExpiryText}}      the lifetime in words in the message's language:
//	                     "10 minutes", "1 hour", "24 Stunden", "10分"; whole
//	                     hours are given in hours, anything else in minutes;
//	                     "" when Data.Expiry is 0. A locale without built-in
//	                     words uses the next built-in one in its chain.
//	{{.Purpose}}         "sign_in", "sign_up" or "verify_attribute"
//	{{.SignIn}} {{.SignUp}} {{.VerifyAttribute}}
//	                     booleans, one of them true, for
//	                     {{if .SignUp}}...{{else}}...{{end}}
//	{{.Locale}}          the tag of the locale whose template is used
//
// An override for a locale replaces the built-in template field by field;
// for a locale with no built-in templates an email override needs at least
// email_subject and email_text. An email_text override without email_html
// sends a text-only email rather than a built-in HTML body that no longer
// matches. New rejects templates that do not parse, that fail to execute,
// or, for sms, email_text and email_html, whose output does not contain the
// code, checking each purpose; and subjects that come out empty.
//
// # SMS
//
// AnalyzeSMS implements GSM 03.38 segment counting; Render fills in
// Rendered.SMS for the SMS channel. Templates.WithAutofill adds WebOTP and
// Android SMS Retriever lines (see Autofill for the order).
package message
