package smtp

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/latchkey/latchkey/internal/deliver"
)

const (
	testUser     = "mailer@example.com"
	testPassword = "pa55-w0rd-s3cr3t-xyz"
	testFrom     = "no-reply@example.com"
	testFromName = "Équipe Latchkey ✓"
	testCode     = "482915"
	testTo       = "alice@example.net"
	testSubject  = "Votre code de connexion — déjà là ✓"
)

var (
	testBody = "Bonjour,\r\n\r\nVotre code est 482915. Il expire dans 3 minutes.\r\n" +
		"Une ligne très longue pour forcer des coupures quoted-printable: " + strings.Repeat("é=à ", 30) + "\r\n"
	testHTML = `<!doctype html><html><body style="font-family:sans-serif"><p>Bonjour,</p>` +
		`<p>Votre code est <strong>482915</strong>. Il expire dans 3&nbsp;minutes — à bientôt.</p>` +
		`<p>` + strings.Repeat(`<span class="x">ü</span>`, 12) + `</p></body></html>`
	testMsg = deliver.Message{
		PoolID:  "local_abc123XYZ",
		Channel: deliver.ChannelEmail,
		To:      testTo,
		Subject: testSubject,
		Body:    testBody,
		HTML:    testHTML,
		Code:    testCode,
		Purpose: "sign_in",
	}
)

// testCert is a self-signed ECDSA certificate for the test server.
type testCert struct {
	tls  tls.Certificate
	pool *x509.CertPool // holds the certificate, to trust it
}

// newCert makes a certificate valid for the given IP addresses and DNS names.
func newCert(t *testing.T, ips []net.IP, dnsNames []string) testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "latchkey test SMTP server"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           ips,
		DNSNames:              dnsNames,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return testCert{tls: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool: pool}
}

func localCert(t *testing.T) testCert {
	return newCert(t, []net.IP{net.IPv4(127, 0, 0, 1)}, nil)
}

// received is a message the test server accepted.
type received struct {
	From string
	To   []string
	Data []byte
}

// backend is a go-smtp backend that records messages and can be told to
// fail.
type backend struct {
	requireAuth bool
	mailErr     error // returned by MAIL FROM
	rcptErr     error // returned by RCPT TO
	dataErr     error // returned after DATA

	mu       sync.Mutex
	messages []received
	auths    []string // "MECH user"
}

func (b *backend) NewSession(_ *gosmtp.Conn) (gosmtp.Session, error) {
	return &session{b: b}, nil
}

func (b *backend) received() []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.messages...)
}

func (b *backend) authLog() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.auths...)
}

type session struct {
	b      *backend
	authed bool
	msg    received
}

var _ gosmtp.AuthSession = (*session)(nil)

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain, sasl.Login} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		if user != testUser || pass != testPassword {
			return gosmtp.ErrAuthFailed // 535 5.7.8
		}
		s.authed = true
		s.b.mu.Lock()
		s.b.auths = append(s.b.auths, mech+" "+user)
		s.b.mu.Unlock()
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, user, pass string) error {
			if identity != "" && identity != user {
				return gosmtp.ErrAuthFailed
			}
			return check(user, pass)
		}), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, gosmtp.ErrAuthUnknownMechanism
}

// loginServer is the server side of AUTH LOGIN, which go-sasl lacks: it
// asks for the base64 user name, then the password.
type loginServer struct {
	check func(user, pass string) error
	step  int
	user  string
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step = 1
		if len(resp) == 0 { // no initial response: ask for the user name
			return []byte("Username:"), false, nil
		}
		fallthrough
	case 1:
		l.user = string(resp)
		l.step = 2
		return []byte("Password:"), false, nil
	default:
		return nil, true, l.check(l.user, string(resp))
	}
}

func (s *session) Mail(from string, _ *gosmtp.MailOptions) error {
	if s.b.requireAuth && !s.authed {
		return gosmtp.ErrAuthRequired
	}
	if s.b.mailErr != nil {
		return s.b.mailErr
	}
	s.msg = received{From: from}
	return nil
}

func (s *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	if s.b.rcptErr != nil {
		return s.b.rcptErr
	}
	s.msg.To = append(s.msg.To, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.b.dataErr != nil {
		return s.b.dataErr
	}
	s.msg.Data = data
	s.b.mu.Lock()
	s.b.messages = append(s.b.messages, s.msg)
	s.b.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.msg = received{} }
func (s *session) Logout() error { return nil }

// startServer runs a go-smtp server on 127.0.0.1:0 and returns its port.
// With implicit, the listener speaks TLS from the start; otherwise, with a
// certificate, the server offers STARTTLS; with neither it is plain and
// allows AUTH in clear.
func startServer(t *testing.T, be *backend, cert *testCert, implicit bool) int {
	t.Helper()
	srv := gosmtp.NewServer(be)
	srv.Domain = "localhost"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	logger := &testLogger{t: t}
	// Registered first, so it runs last: after it, the server's goroutines
	// (which may outlive Close while a connection winds down) log nothing,
	// as testing forbids logging once the test has completed.
	t.Cleanup(logger.stop)
	srv.ErrorLog = logger
	var ln net.Listener
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if cert != nil {
		tc := &tls.Config{Certificates: []tls.Certificate{cert.tls}, MinVersion: tls.VersionTLS12}
		if implicit {
			ln = tls.NewListener(ln, tc)
		} else {
			srv.TLSConfig = tc
		}
	} else {
		srv.AllowInsecureAuth = true
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return ln.Addr().(*net.TCPAddr).Port
}

// testLogger sends the SMTP server's log to the test's, until stop.
type testLogger struct {
	t       *testing.T
	mu      sync.Mutex
	stopped bool
}

func (l *testLogger) stop() {
	l.mu.Lock()
	l.stopped = true
	l.mu.Unlock()
}

func (l *testLogger) Printf(format string, v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.stopped {
		l.t.Logf("smtp server: "+format, v...)
	}
}

func (l *testLogger) Println(v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.stopped {
		l.t.Log(append([]any{"smtp server:"}, v...)...)
	}
}

func baseConfig(port int) Config {
	return Config{
		Host: "127.0.0.1", Port: port,
		Username: testUser, Password: testPassword,
		From: testFrom, FromName: testFromName, ReplyTo: "support@example.com",
		HeloName: "latchkey.test", Timeout: 5 * time.Second,
	}
}

func mustNew(t *testing.T, cfg Config, opts ...Option) *Sender {
	t.Helper()
	s, err := New(cfg, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// assertNoSecrets fails if err's text shows the password, code or body.
func assertNoSecrets(t *testing.T, err error) {
	t.Helper()
	text := err.Error() + fmt.Sprintf(" %v %+v %#v", err, err, err)
	for _, secret := range []string{testPassword, testCode, testBody, testHTML} {
		if strings.Contains(text, secret) {
			t.Errorf("error %q contains a secret (%.20q…)", err, secret)
		}
	}
}

// checkMessage parses raw as the message for testMsg and checks its headers
// and parts.
func checkMessage(t *testing.T, raw []byte, wantHTML bool) {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parsing the message: %v\n%s", err, raw)
	}
	h := msg.Header

	from, err := netmail.ParseAddress(h.Get("From"))
	if err != nil {
		t.Fatalf("From %q: %v", h.Get("From"), err)
	}
	if from.Name != testFromName || from.Address != testFrom {
		t.Errorf("From = %q <%s>, want %q <%s>", from.Name, from.Address, testFromName, testFrom)
	}
	if strings.Contains(h.Get("From"), "É") {
		t.Errorf("From %q is not encoded", h.Get("From"))
	}
	to, err := h.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Address != testTo {
		t.Errorf("To = %q (%v)", h.Get("To"), err)
	}
	if rt, err := netmail.ParseAddress(h.Get("Reply-To")); err != nil || rt.Address != "support@example.com" {
		t.Errorf("Reply-To = %q", h.Get("Reply-To"))
	}

	rawSubject := h.Get("Subject")
	if !strings.HasPrefix(strings.ToLower(rawSubject), "=?utf-8?") {
		t.Errorf("Subject %q is not an RFC 2047 UTF-8 encoded word", rawSubject)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(rawSubject)
	if err != nil || subject != testSubject {
		t.Errorf("Subject decodes to %q (%v), want %q", subject, err, testSubject)
	}

	if date, err := h.Date(); err != nil || time.Since(date).Abs() > time.Minute {
		t.Errorf("Date = %q (%v)", h.Get("Date"), err)
	}
	if id := h.Get("Message-ID"); !regexp.MustCompile(`^<[a-z2-7]{26}@example\.com>$`).MatchString(id) {
		t.Errorf("Message-ID = %q", id)
	}
	if h.Get("MIME-Version") != "1.0" {
		t.Errorf("MIME-Version = %q", h.Get("MIME-Version"))
	}
	if ua := h.Get("User-Agent") + h.Get("X-Mailer"); ua != "" {
		t.Errorf("mailer advertised: %q", ua)
	}

	mediaType, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type %q: %v", h.Get("Content-Type"), err)
	}
	if !wantHTML {
		checkPart(t, "text/plain", h, msg.Body, testBody)
		if mediaType != "text/plain" {
			t.Errorf("Content-Type = %q, want text/plain", mediaType)
		}
		return
	}
	if mediaType != "multipart/alternative" || params["boundary"] == "" {
		t.Fatalf("Content-Type = %q, want multipart/alternative with a boundary", h.Get("Content-Type"))
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var types []string
	for {
		// NextRawPart leaves the quoted-printable for checkPart to
		// check and decode.
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading parts: %v", err)
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		types = append(types, ct)
		switch ct {
		case "text/plain":
			checkPart(t, ct, p.Header, p, testBody)
		case "text/html":
			checkPart(t, ct, p.Header, p, testHTML)
		}
	}
	if strings.Join(types, ",") != "text/plain,text/html" {
		t.Errorf("parts = %v, want text/plain then text/html", types)
	}
}

// header is a net/mail or multipart part header.
type header interface{ Get(string) string }

func checkPart(t *testing.T, wantType string, h header, body io.Reader, want string) {
	t.Helper()
	ct, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || ct != wantType || !strings.EqualFold(params["charset"], "UTF-8") {
		t.Errorf("%s part: Content-Type = %q, want %s; charset=UTF-8", wantType, h.Get("Content-Type"), wantType)
	}
	if cte := h.Get("Content-Transfer-Encoding"); !strings.EqualFold(cte, "quoted-printable") {
		t.Errorf("%s part: Content-Transfer-Encoding = %q", wantType, cte)
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 76 {
			t.Errorf("%s part: line %d is %d bytes long", wantType, i, len(line))
		}
		for _, c := range []byte(line) {
			if c > 126 {
				t.Errorf("%s part: line %d has a non-ASCII byte", wantType, i)
				break
			}
		}
	}
	decoded, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatalf("%s part: quoted-printable: %v", wantType, err)
	}
	got := strings.TrimRight(strings.ReplaceAll(string(decoded), "\r\n", "\n"), "\n")
	if want := strings.TrimRight(strings.ReplaceAll(want, "\r\n", "\n"), "\n"); got != want {
		t.Errorf("%s part decodes to\n%q\nwant\n%q", wantType, got, want)
	}
}

func TestSendStartTLS(t *testing.T) {
	for _, mech := range []string{"", AuthPlain, AuthLogin} {
		t.Run("auth="+mech, func(t *testing.T) {
			cert := localCert(t)
			be := &backend{requireAuth: true}
			port := startServer(t, be, &cert, false)
			cfg := baseConfig(port)
			cfg.Auth = mech
			s := mustNew(t, cfg, WithTLSConfig(&tls.Config{RootCAs: cert.pool}))
			if err := s.Send(context.Background(), testMsg); err != nil {
				t.Fatalf("Send: %v", err)
			}
			msgs := be.received()
			if len(msgs) != 1 {
				t.Fatalf("server received %d messages", len(msgs))
			}
			if msgs[0].From != testFrom || strings.Join(msgs[0].To, ",") != testTo {
				t.Errorf("envelope = %s -> %v", msgs[0].From, msgs[0].To)
			}
			wantMech := "PLAIN"
			if mech == AuthLogin {
				wantMech = "LOGIN"
			}
			if got := be.authLog(); len(got) != 1 || got[0] != wantMech+" "+testUser {
				t.Errorf("server saw auth %v, want [%s %s]", got, wantMech, testUser)
			}
			checkMessage(t, msgs[0].Data, true)
		})
	}
}

func TestSendImplicitTLS(t *testing.T) {
	cert := localCert(t)
	be := &backend{requireAuth: true}
	port := startServer(t, be, &cert, true)
	cfg := baseConfig(port)
	cfg.TLS = TLSImplicit
	s := mustNew(t, cfg, WithTLSConfig(&tls.Config{RootCAs: cert.pool}))
	if err := s.Send(context.Background(), testMsg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := be.received()
	if len(msgs) != 1 {
		t.Fatalf("server received %d messages", len(msgs))
	}
	if got := be.authLog(); len(got) != 1 || got[0] != "PLAIN "+testUser {
		t.Errorf("server saw auth %v", got)
	}
	checkMessage(t, msgs[0].Data, true)
}

func TestSendTextOnlyWithoutTLSOnLoopback(t *testing.T) {
	be := &backend{}
	port := startServer(t, be, nil, false)
	cfg := baseConfig(port)
	cfg.TLS = TLSNone
	cfg.Username, cfg.Password = "", ""
	m := testMsg
	m.HTML = ""
	if err := mustNew(t, cfg).Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := be.received()
	if len(msgs) != 1 {
		t.Fatalf("server received %d messages", len(msgs))
	}
	if got := be.authLog(); len(got) != 0 {
		t.Errorf("server saw auth %v without credentials", got)
	}
	checkMessage(t, msgs[0].Data, false)
}

func TestSendConcurrent(t *testing.T) {
	cert := localCert(t)
	be := &backend{requireAuth: true}
	port := startServer(t, be, &cert, false)
	s := mustNew(t, baseConfig(port), WithTLSConfig(&tls.Config{RootCAs: cert.pool}))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			m := testMsg
			m.To = "user" + strconv.Itoa(i) + "@example.net"
			errs <- s.Send(context.Background(), m)
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := len(be.received()); n != 8 {
		t.Errorf("server received %d messages, want 8", n)
	}
}

// sendErr sends testMsg and returns the error as a ProviderError.
func sendErr(t *testing.T, s *Sender, ctx context.Context) *deliver.ProviderError {
	t.Helper()
	err := s.Send(ctx, testMsg)
	if err == nil {
		t.Fatal("Send succeeded")
	}
	var pe *deliver.ProviderError
	if !errors.As(err, &pe) || pe.Provider != "smtp" {
		t.Fatalf("error %v (%T) is not an smtp *deliver.ProviderError", err, err)
	}
	if deliver.IsTransient(err) != pe.Transient {
		t.Errorf("IsTransient disagrees with ProviderError.Transient")
	}
	assertNoSecrets(t, err)
	return pe
}

func replyCode(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return -1
}

func TestSendWrongPasswordIsPermanent(t *testing.T) {
	for _, mech := range []string{AuthPlain, AuthLogin} {
		t.Run(mech, func(t *testing.T) {
			cert := localCert(t)
			be := &backend{requireAuth: true}
			port := startServer(t, be, &cert, false)
			cfg := baseConfig(port)
			cfg.Auth = mech
			cfg.Password = "wrong-" + testPassword[6:]
			s := mustNew(t, cfg, WithTLSConfig(&tls.Config{RootCAs: cert.pool}))
			pe := sendErr(t, s, context.Background())
			if pe.Transient {
				t.Errorf("wrong password is transient: %v", pe)
			}
			if code := replyCode(pe); code != 535 {
				t.Errorf("reply code = %d, want 535 (%v)", code, pe)
			}
			if strings.Contains(pe.Error(), cfg.Password) {
				t.Errorf("error %q shows the password", pe)
			}
			if len(be.received()) != 0 {
				t.Error("server received a message")
			}
		})
	}
}

func TestSendServerReplies(t *testing.T) {
	cases := []struct {
		name      string
		be        *backend
		code      int
		transient bool
	}{
		{"451 after DATA", &backend{dataErr: &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "Requested action aborted: try again later"}}, 451, true},
		{"421 at MAIL", &backend{mailErr: &gosmtp.SMTPError{Code: 421, EnhancedCode: gosmtp.EnhancedCode{4, 7, 0}, Message: "Too many messages, slow down"}}, 421, true},
		{"450 at RCPT", &backend{rcptErr: &gosmtp.SMTPError{Code: 450, EnhancedCode: gosmtp.EnhancedCode{4, 2, 1}, Message: "Mailbox busy"}}, 450, true},
		{"550 at RCPT", &backend{rcptErr: &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "Mailbox unavailable"}}, 550, false},
		{"554 after DATA", &backend{dataErr: &gosmtp.SMTPError{Code: 554, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1}, Message: "Message rejected as spam"}}, 554, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cert := localCert(t)
			port := startServer(t, c.be, &cert, false)
			s := mustNew(t, baseConfig(port), WithTLSConfig(&tls.Config{RootCAs: cert.pool}))
			pe := sendErr(t, s, context.Background())
			if pe.Transient != c.transient {
				t.Errorf("transient = %v, want %v: %v", pe.Transient, c.transient, pe)
			}
			if code := replyCode(pe); code != c.code {
				t.Errorf("reply code = %d, want %d: %v", code, c.code, pe)
			}
		})
	}
}

func TestSendServerDownIsTransient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	pe := sendErr(t, mustNew(t, baseConfig(port)), context.Background())
	if !pe.Transient {
		t.Errorf("connection refused is permanent: %v", pe)
	}
}

// TestSendTimeoutIsTransient talks to a server that accepts connections but
// never greets: the context's deadline must end the send.
func TestSendTimeoutIsTransient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	port := ln.Addr().(*net.TCPAddr).Port

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	pe := sendErr(t, mustNew(t, baseConfig(port)), ctx)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Send took %v, ignoring the context", d)
	}
	if !pe.Transient || !errors.Is(pe, context.DeadlineExceeded) {
		t.Errorf("error = %v, want transient and wrapping context.DeadlineExceeded", pe)
	}

	// Config.Timeout bounds it too.
	cfg := baseConfig(port)
	cfg.Timeout = 300 * time.Millisecond
	start = time.Now()
	pe = sendErr(t, mustNew(t, cfg), context.Background())
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Send took %v, ignoring the timeout", d)
	}
	if !pe.Transient {
		t.Errorf("timeout is permanent: %v", pe)
	}
}

func TestSendVerifiesCertificates(t *testing.T) {
	good := localCert(t)
	wrongHost := newCert(t, nil, []string{"mail.example.com"})
	cases := []struct {
		name     string
		served   testCert
		trusted  *x509.CertPool
		implicit bool
		want     any // the x509 error type expected
	}{
		{"starttls wrong host", wrongHost, wrongHost.pool, false, x509.HostnameError{}},
		{"starttls untrusted", good, localCert(t).pool, false, x509.UnknownAuthorityError{}},
		{"implicit wrong host", wrongHost, wrongHost.pool, true, x509.HostnameError{}},
		{"implicit untrusted", good, localCert(t).pool, true, x509.UnknownAuthorityError{}},
		{"starttls system roots", good, nil, false, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			be := &backend{}
			served := c.served
			port := startServer(t, be, &served, c.implicit)
			cfg := baseConfig(port)
			if c.implicit {
				cfg.TLS = TLSImplicit
			}
			var opts []Option
			if c.trusted != nil {
				opts = append(opts, WithTLSConfig(&tls.Config{RootCAs: c.trusted}))
			}
			pe := sendErr(t, mustNew(t, cfg, opts...), context.Background())
			if pe.Transient {
				t.Errorf("certificate failure is transient: %v", pe)
			}
			switch c.want.(type) {
			case x509.HostnameError:
				var he x509.HostnameError
				if !errors.As(pe, &he) {
					t.Errorf("error %v is not an x509.HostnameError", pe)
				}
			case x509.UnknownAuthorityError:
				var ue x509.UnknownAuthorityError
				if !errors.As(pe, &ue) {
					t.Errorf("error %v is not an x509.UnknownAuthorityError", pe)
				}
			}
			if len(be.received()) != 0 {
				t.Error("server received a message")
			}
		})
	}
}

func TestSendRequiresSTARTTLS(t *testing.T) {
	be := &backend{}
	port := startServer(t, be, nil, false) // no certificate: no STARTTLS
	cfg := baseConfig(port)
	cfg.Username, cfg.Password = "", ""
	pe := sendErr(t, mustNew(t, cfg), context.Background())
	if pe.Transient || !strings.Contains(pe.Error(), "STARTTLS") {
		t.Errorf("error = %v, want a permanent STARTTLS failure", pe)
	}
	if len(be.received()) != 0 {
		t.Error("server received a message in clear")
	}
}

func TestSendRejectsOtherChannels(t *testing.T) {
	m := testMsg
	m.Channel = deliver.ChannelSMS
	if err := mustNew(t, baseConfig(2525)).Send(context.Background(), m); err == nil {
		t.Fatal("Send accepted an SMS message")
	}
}

func TestNewValidates(t *testing.T) {
	good := baseConfig(0)
	cases := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no host", func(c *Config) { c.Host = "" }, "host is required"},
		{"host with port", func(c *Config) { c.Host = "smtp.example.com:587" }, "includes a port"},
		{"url host", func(c *Config) { c.Host = "smtp://smtp.example.com" }, "bare host name"},
		{"bad tls", func(c *Config) { c.TLS = "ssl" }, `must be "starttls"`},
		{"none off loopback", func(c *Config) { c.Host, c.TLS = "smtp.example.com", TLSNone }, "loopback"},
		{"bad port", func(c *Config) { c.Port = 70000 }, "out of range"},
		{"bad auth", func(c *Config) { c.Auth = "cram-md5" }, `must be "plain" or "login"`},
		{"auth without user", func(c *Config) { c.Username, c.Password = "", ""; c.Auth = AuthLogin }, "username is empty"},
		{"user without password", func(c *Config) { c.Password = "" }, "password is empty"},
		{"password without user", func(c *Config) { c.Username = "" }, "username is empty"},
		{"no from", func(c *Config) { c.From = "" }, "from is required"},
		{"from with name", func(c *Config) { c.From = "Latchkey <no-reply@example.com>" }, "bare email address"},
		{"bad reply-to", func(c *Config) { c.ReplyTo = "support" }, "reply_to"},
		{"from name with newline", func(c *Config) { c.FromName = "A\r\nBcc: x@example.com" }, "line breaks"},
		{"bad helo", func(c *Config) { c.HeloName = "my host" }, "helo_name"},
		{"tiny timeout", func(c *Config) { c.Timeout = 10 }, "too short"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := good
			c.edit(&cfg)
			_, err := New(cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New error = %v, want one containing %q", err, c.want)
			}
			if strings.Contains(err.Error(), testPassword) {
				t.Errorf("error %q shows the password", err)
			}
		})
	}

	if _, err := New(good, WithTLSConfig(&tls.Config{InsecureSkipVerify: true})); err == nil {
		t.Error("New accepted InsecureSkipVerify")
	}

	for tlsMode, port := range map[string]int{"": 587, TLSStartTLS: 587, TLSImplicit: 465, "STARTTLS": 587} {
		cfg := good
		cfg.TLS = tlsMode
		s := mustNew(t, cfg)
		if s.cfg.Port != port || s.cfg.Auth != AuthPlain || s.cfg.Timeout != 5*time.Second {
			t.Errorf("tls %q: normalized to %v", tlsMode, s.cfg)
		}
		if s.tlsConfig.ServerName != "127.0.0.1" || s.tlsConfig.MinVersion < tls.VersionTLS12 || s.tlsConfig.RootCAs != nil {
			t.Errorf("tls %q: TLS config %+v", tlsMode, s.tlsConfig)
		}
	}
	cfg := good
	cfg.Host, cfg.TLS, cfg.Timeout = "localhost", TLSNone, 0
	if s := mustNew(t, cfg); s.cfg.Port != 25 || s.cfg.Timeout != DefaultTimeout {
		t.Errorf("none: normalized to %v", s.cfg)
	}
}

func TestConfigJSON(t *testing.T) {
	in := `{"host":"smtp.example.com","port":2525,"tls":"implicit","username":"u","password":"` + testPassword +
		`","auth":"login","from":"no-reply@example.com","from_name":"Example","reply_to":"help@example.com",` +
		`"helo_name":"mx.example.com","timeout":"7s"}`
	var c Config
	if err := json.Unmarshal([]byte(in), &c); err != nil {
		t.Fatal(err)
	}
	want := Config{Host: "smtp.example.com", Port: 2525, TLS: "implicit", Username: "u", Password: testPassword,
		Auth: "login", From: "no-reply@example.com", FromName: "Example", ReplyTo: "help@example.com",
		HeloName: "mx.example.com", Timeout: 7 * time.Second}
	if c != want {
		t.Errorf("decoded %v", c)
	}
	// time.Duration's own form (nanoseconds) round-trips.
	out, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back Config
	if err := json.Unmarshal(out, &back); err != nil || back != c {
		t.Errorf("round trip: %s -> %v (%v)", out, back, err)
	}
	if err := json.Unmarshal([]byte(`{"host":"h","timeout":"soon"}`), &c); err == nil {
		t.Error("accepted timeout \"soon\"")
	}

	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("cfg", "smtp", want)
	for _, shown := range []string{fmt.Sprint(want), fmt.Sprintf("%+v", want), fmt.Sprintf("%#v", want), logged.String()} {
		if strings.Contains(shown, testPassword) {
			t.Errorf("password shown: %s", shown)
		}
	}
}
