package message

import (
	"fmt"
	"slices"
)

// phrases are one built-in locale's wording. Each string is template text
// (see the package comment for the fields). They are assembled into full
// templates by builtinSources, so they must not contain < > or &, which
// would be HTML in the HTML part.
//
// The SMS texts of Latin-script locales use only GSM-7 characters, so that
// they stay in one 160-septet segment. That rules out, among others, á í ó ú
// ã õ â ê ô ç and ë (é è à ù ì ò ä ö ü ñ ß are fine): Spanish says "clave"
// rather than "código", Portuguese "Use ... para entrar" and "Nunca
// compartilhe", Dutch "bevestigen" rather than "verifiëren".
type phrases struct {
	// SMS body by purpose, channel sms. The expiry sentence goes inside
	// {{with .ExpiryText}}...{{end}} so it disappears when Expiry is 0.
	smsSignIn, smsSignUp, smsVerify string
	// Email subject by purpose.
	subjSignIn, subjSignUp, subjVerify string
	// Email: the sentence before the code, by purpose.
	introSignIn, introSignUp, introVerify string
	// Email: the expiry sentence (with {{.ExpiryText}}), the warning not to
	// share the code, and the "ignore this if it was not you" line.
	expires, noShare, ignore string
	// Duration words for .ExpiryText, as fmt formats taking the count.
	minute, minutes, hour, hours string
}

// builtins are the built-in locales, by normalised tag. en is the last
// resort of every fallback chain.
var builtins = map[string]phrases{
	"en": {
		smsSignIn:   `{{.Code}} is your {{.AppName}} sign-in code.{{with .ExpiryText}} It expires in {{.}}.{{end}} Don't share it with anyone.`,
		smsSignUp:   `{{.Code}} is your {{.AppName}} code to confirm your sign-up.{{with .ExpiryText}} It expires in {{.}}.{{end}} Don't share it with anyone.`,
		smsVerify:   `{{.Code}} is your {{.AppName}} code to verify this phone number.{{with .ExpiryText}} It expires in {{.}}.{{end}} Don't share it with anyone.`,
		subjSignIn:  `Your {{.AppName}} sign-in code`,
		subjSignUp:  `Confirm your {{.AppName}} account`,
		subjVerify:  `Verify your email address for {{.AppName}}`,
		introSignIn: `Use this code to sign in to {{.AppName}}:`,
		introSignUp: `Use this code to confirm your new {{.AppName}} account:`,
		introVerify: `Use this code to verify this email address for your {{.AppName}} account:`,
		expires:     `The code expires in {{.ExpiryText}}.`,
		noShare:     `Don't share it with anyone.`,
		ignore:      `If you didn't ask for this code, you can ignore this email.`,
		minute:      "%d minute", minutes: "%d minutes", hour: "%d hour", hours: "%d hours",
	},
	"es": {
		smsSignIn:   `{{.Code}} es tu clave para entrar en {{.AppName}}.{{with .ExpiryText}} Caduca en {{.}}.{{end}} No la compartas con nadie.`,
		smsSignUp:   `{{.Code}} es tu clave para confirmar tu registro en {{.AppName}}.{{with .ExpiryText}} Caduca en {{.}}.{{end}} No la compartas con nadie.`,
		smsVerify:   `{{.Code}} es tu clave para verificar este teléfono en {{.AppName}}.{{with .ExpiryText}} Caduca en {{.}}.{{end}} No la compartas con nadie.`,
		subjSignIn:  `Tu código para iniciar sesión en {{.AppName}}`,
		subjSignUp:  `Confirma tu cuenta de {{.AppName}}`,
		subjVerify:  `Verifica tu correo electrónico en {{.AppName}}`,
		introSignIn: `Usa este código para iniciar sesión en {{.AppName}}:`,
		introSignUp: `Usa este código para confirmar tu nueva cuenta de {{.AppName}}:`,
		introVerify: `Usa este código para verificar esta dirección de correo electrónico en tu cuenta de {{.AppName}}:`,
		expires:     `El código caduca en {{.ExpiryText}}.`,
		noShare:     `No lo compartas con nadie.`,
		ignore:      `Si no has solicitado este código, puedes ignorar este correo.`,
		minute:      "%d minuto", minutes: "%d minutos", hour: "%d hora", hours: "%d horas",
	},
	"fr": {
		smsSignIn:   `{{.Code}} est votre code de connexion à {{.AppName}}.{{with .ExpiryText}} Il expire dans {{.}}.{{end}} Ne le partagez avec personne.`,
		smsSignUp:   `{{.Code}} est votre code pour confirmer votre inscription à {{.AppName}}.{{with .ExpiryText}} Il expire dans {{.}}.{{end}} Ne le partagez avec personne.`,
		smsVerify:   `{{.Code}} est votre code pour vérifier ce numéro de téléphone sur {{.AppName}}.{{with .ExpiryText}} Il expire dans {{.}}.{{end}} Ne le partagez avec personne.`,
		subjSignIn:  `Votre code de connexion à {{.AppName}}`,
		subjSignUp:  `Confirmez votre compte {{.AppName}}`,
		subjVerify:  `Vérifiez votre adresse e-mail pour {{.AppName}}`,
		introSignIn: "Utilisez ce code pour vous connecter à {{.AppName}}\u00a0:",
		introSignUp: "Utilisez ce code pour confirmer votre nouveau compte {{.AppName}}\u00a0:",
		introVerify: "Utilisez ce code pour vérifier cette adresse e-mail pour votre compte {{.AppName}}\u00a0:",
		expires:     `Ce code expire dans {{.ExpiryText}}.`,
		noShare:     `Ne le partagez avec personne.`,
		ignore:      `Si vous n’êtes pas à l’origine de cette demande, vous pouvez ignorer cet e-mail.`,
		minute:      "%d minute", minutes: "%d minutes", hour: "%d heure", hours: "%d heures",
	},
	"de": {
		smsSignIn:   `{{.Code}} ist dein Anmeldecode für {{.AppName}}.{{with .ExpiryText}} Er ist {{.}} gültig.{{end}} Gib ihn an niemanden weiter.`,
		smsSignUp:   `{{.Code}} ist dein Code zur Bestätigung deiner Registrierung bei {{.AppName}}.{{with .ExpiryText}} Er ist {{.}} gültig.{{end}} Gib ihn an niemanden weiter.`,
		smsVerify:   `{{.Code}} ist dein Code zur Bestätigung dieser Telefonnummer bei {{.AppName}}.{{with .ExpiryText}} Er ist {{.}} gültig.{{end}} Gib ihn an niemanden weiter.`,
		subjSignIn:  `Dein Anmeldecode für {{.AppName}}`,
		subjSignUp:  `Bestätige dein Konto bei {{.AppName}}`,
		subjVerify:  `Bestätige deine E-Mail-Adresse für {{.AppName}}`,
		introSignIn: `Mit diesem Code meldest du dich bei {{.AppName}} an:`,
		introSignUp: `Mit diesem Code bestätigst du dein neues Konto bei {{.AppName}}:`,
		introVerify: `Mit diesem Code bestätigst du diese E-Mail-Adresse für dein Konto bei {{.AppName}}:`,
		expires:     `Der Code ist {{.ExpiryText}} gültig.`,
		noShare:     `Gib ihn an niemanden weiter.`,
		ignore:      `Falls du diesen Code nicht angefordert hast, kannst du diese E-Mail ignorieren.`,
		minute:      "%d Minute", minutes: "%d Minuten", hour: "%d Stunde", hours: "%d Stunden",
	},
	"pt-BR": {
		smsSignIn:   `Use {{.Code}} para entrar em {{.AppName}}.{{with .ExpiryText}} Expira em {{.}}.{{end}} Nunca compartilhe com ninguém.`,
		smsSignUp:   `Use {{.Code}} para confirmar seu cadastro em {{.AppName}}.{{with .ExpiryText}} Expira em {{.}}.{{end}} Nunca compartilhe com ninguém.`,
		smsVerify:   `Use {{.Code}} para verificar este telefone em {{.AppName}}.{{with .ExpiryText}} Expira em {{.}}.{{end}} Nunca compartilhe com ninguém.`,
		subjSignIn:  `{{.AppName}}: seu código de acesso`,
		subjSignUp:  `{{.AppName}}: confirme sua conta`,
		subjVerify:  `{{.AppName}}: verifique seu e-mail`,
		introSignIn: `Use este código para entrar em {{.AppName}}:`,
		introSignUp: `Use este código para confirmar sua nova conta em {{.AppName}}:`,
		introVerify: `Use este código para verificar este endereço de e-mail na sua conta em {{.AppName}}:`,
		expires:     `O código expira em {{.ExpiryText}}.`,
		noShare:     `Não compartilhe com ninguém.`,
		ignore:      `Se você não solicitou este código, pode ignorar este e-mail.`,
		minute:      "%d minuto", minutes: "%d minutos", hour: "%d hora", hours: "%d horas",
	},
	"it": {
		smsSignIn:   `{{.Code}} è il tuo codice di accesso a {{.AppName}}.{{with .ExpiryText}} Scade tra {{.}}.{{end}} Non condividerlo con nessuno.`,
		smsSignUp:   `{{.Code}} è il tuo codice per confermare la registrazione a {{.AppName}}.{{with .ExpiryText}} Scade tra {{.}}.{{end}} Non condividerlo con nessuno.`,
		smsVerify:   `{{.Code}} è il tuo codice per verificare questo numero di telefono su {{.AppName}}.{{with .ExpiryText}} Scade tra {{.}}.{{end}} Non condividerlo con nessuno.`,
		subjSignIn:  `Il tuo codice di accesso a {{.AppName}}`,
		subjSignUp:  `Conferma il tuo account {{.AppName}}`,
		subjVerify:  `Verifica il tuo indirizzo email per {{.AppName}}`,
		introSignIn: `Usa questo codice per accedere a {{.AppName}}:`,
		introSignUp: `Usa questo codice per confermare il tuo nuovo account {{.AppName}}:`,
		introVerify: `Usa questo codice per verificare questo indirizzo email per il tuo account {{.AppName}}:`,
		expires:     `Il codice scade tra {{.ExpiryText}}.`,
		noShare:     `Non condividerlo con nessuno.`,
		ignore:      `Se non hai richiesto questo codice, puoi ignorare questa email.`,
		minute:      "%d minuto", minutes: "%d minuti", hour: "%d ora", hours: "%d ore",
	},
	"nl": {
		smsSignIn:   `{{.Code}} is je inlogcode voor {{.AppName}}.{{with .ExpiryText}} De code is {{.}} geldig.{{end}} Deel hem met niemand.`,
		smsSignUp:   `{{.Code}} is je code om je registratie bij {{.AppName}} te bevestigen.{{with .ExpiryText}} De code is {{.}} geldig.{{end}} Deel hem met niemand.`,
		smsVerify:   `{{.Code}} is je code om dit telefoonnummer te bevestigen voor {{.AppName}}.{{with .ExpiryText}} De code is {{.}} geldig.{{end}} Deel hem met niemand.`,
		subjSignIn:  `Je inlogcode voor {{.AppName}}`,
		subjSignUp:  `Bevestig je account bij {{.AppName}}`,
		subjVerify:  `Bevestig je e-mailadres voor {{.AppName}}`,
		introSignIn: `Gebruik deze code om in te loggen bij {{.AppName}}:`,
		introSignUp: `Gebruik deze code om je nieuwe account bij {{.AppName}} te bevestigen:`,
		introVerify: `Gebruik deze code om dit e-mailadres voor je account bij {{.AppName}} te bevestigen:`,
		expires:     `De code is {{.ExpiryText}} geldig.`,
		noShare:     `Deel hem met niemand.`,
		ignore:      `Heb je deze code niet aangevraagd? Dan kun je deze e-mail negeren.`,
		minute:      "%d minuut", minutes: "%d minuten", hour: "%d uur", hours: "%d uur",
	},
	// Japanese SMS is UCS-2 whatever we do: 70 code units. With a 20-character
	// app name and an 8-digit code these stay under 70.
	"ja": {
		smsSignIn:   "{{.AppName}}のログインコード：{{.Code}}\n{{with .ExpiryText}}有効期限は{{.}}です。{{end}}他の人に教えないでください。",
		smsSignUp:   "{{.AppName}}の登録確認コード：{{.Code}}\n{{with .ExpiryText}}有効期限は{{.}}です。{{end}}他の人に教えないでください。",
		smsVerify:   "{{.AppName}}の電話番号確認コード：{{.Code}}\n{{with .ExpiryText}}有効期限は{{.}}です。{{end}}他の人に教えないでください。",
		subjSignIn:  `{{.AppName}}のログインコード`,
		subjSignUp:  `{{.AppName}}のアカウント登録の確認`,
		subjVerify:  `{{.AppName}}のメールアドレスの確認`,
		introSignIn: `{{.AppName}}にログインするには、次のコードを入力してください。`,
		introSignUp: `{{.AppName}}の新しいアカウントを確認するには、次のコードを入力してください。`,
		introVerify: `{{.AppName}}のアカウントでこのメールアドレスを確認するには、次のコードを入力してください。`,
		expires:     `このコードの有効期限は{{.ExpiryText}}です。`,
		noShare:     `このコードを他の人に教えないでください。`,
		ignore:      `このメールに心当たりがない場合は、このまま破棄してください。`,
		minute:      "%d分", minutes: "%d分", hour: "%d時間", hours: "%d時間",
	},
}

// byPurpose builds a template that picks one of three texts by purpose.
func byPurpose(signIn, signUp, verify string) string {
	return `{{if .SignUp}}` + signUp + `{{else if .VerifyAttribute}}` + verify + `{{else}}` + signIn + `{{end}}`
}

// builtinSources returns the template sources of one built-in locale.
func builtinSources(tag string, p phrases) LocaleOverride {
	intro := byPurpose(p.introSignIn, p.introSignUp, p.introVerify)
	expiry := `{{if .ExpiryText}}` + p.expires + ` {{end}}` + p.noShare
	if tag == "ja" { // no space between Japanese sentences
		expiry = `{{if .ExpiryText}}` + p.expires + `{{end}}` + p.noShare
	}
	text := intro + "\n\n    {{.Code}}\n\n" + expiry + "\n\n" + p.ignore + "\n"
	subject := byPurpose(p.subjSignIn, p.subjSignUp, p.subjVerify)
	html := `<!DOCTYPE html>
<html lang="` + tag + `">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>` + subject + `</title>
</head>
<body style="margin:0;padding:24px;background:#ffffff;color:#1f2328;font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;font-size:16px;line-height:1.5;">
<p style="margin:0 0 16px;">` + intro + `</p>
<p style="margin:0 0 16px;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:28px;font-weight:bold;letter-spacing:4px;">{{.Code}}</p>
<p style="margin:0 0 16px;">` + expiry + `</p>
<p style="margin:0;color:#656d76;font-size:14px;">` + p.ignore + `</p>
</body>
</html>
`
	return LocaleOverride{
		SMS:          byPurpose(p.smsSignIn, p.smsSignUp, p.smsVerify),
		EmailSubject: subject,
		EmailText:    text,
		EmailHTML:    html,
	}
}

// expiryText renders a duration of m minutes (m >= 1) in p's words: whole
// hours as hours, anything else as minutes.
func (p phrases) expiryText(m int) string {
	switch {
	case m >= 60 && m%60 == 0 && m/60 == 1:
		return fmt.Sprintf(p.hour, 1)
	case m >= 60 && m%60 == 0:
		return fmt.Sprintf(p.hours, m/60)
	case m == 1:
		return fmt.Sprintf(p.minute, 1)
	}
	return fmt.Sprintf(p.minutes, m)
}

// BuiltinLocales lists the locales with built-in templates, sorted.
func BuiltinLocales() []string {
	tags := make([]string, 0, len(builtins))
	for t := range builtins {
		tags = append(tags, t)
	}
	slices.Sort(tags)
	return tags
}
