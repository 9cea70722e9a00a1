package auth_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/store"
)

// writeLog records, per operation, the store writes an engine makes (by
// method, limits counted per bucket) and how many transactions commit
// them. Every write goes through a unit of work, so a write made outside
// one shows as a transaction of its own.
type writeLog struct {
	mu     sync.Mutex
	writes map[string]int
	txs    int
}

func (l *writeLog) note(method string, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes[method] += n
}

// reset starts a new operation and returns the previous one's record.
func (l *writeLog) reset() (map[string]int, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w, n := l.writes, l.txs
	l.writes, l.txs = map[string]int{}, 0
	return w, n
}

// countingStore counts what goes through it. Its write methods outside a
// unit of work become units of one write, so they are counted the same way.
type countingStore struct {
	store.Store
	log *writeLog
}

func (c countingStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	c.log.mu.Lock()
	c.log.txs++
	c.log.mu.Unlock()
	return c.Store.Update(ctx, func(tx store.Tx) error { return fn(countingTx{Tx: tx, log: c.log}) })
}

func (c countingStore) one(ctx context.Context, fn func(store.Tx) error) error {
	return c.Update(ctx, fn)
}

func (c countingStore) CreateSession(ctx context.Context, s pool.AuthSession) error {
	return c.one(ctx, func(tx store.Tx) error { return tx.CreateSession(ctx, s) })
}

func (c countingStore) DeleteSession(ctx context.Context, h []byte) error {
	return c.one(ctx, func(tx store.Tx) error { return tx.DeleteSession(ctx, h) })
}

func (c countingStore) TakeTokens(ctx context.Context, ls []store.Limit, now time.Time) (denied int, at time.Time, err error) {
	err = c.one(ctx, func(tx store.Tx) error {
		denied, at, err = tx.TakeTokens(ctx, ls, now)
		return err
	})
	return denied, at, err
}

func (c countingStore) AppendAudit(ctx context.Context, ev store.AuditEvent) (id int64, err error) {
	err = c.one(ctx, func(tx store.Tx) error {
		id, err = tx.AppendAudit(ctx, ev)
		return err
	})
	return id, err
}

func (c countingStore) PutCode(ctx context.Context, code pool.Code) error {
	return c.one(ctx, func(tx store.Tx) error { return tx.PutCode(ctx, code) })
}

// countingTx counts the writes of one unit of work.
type countingTx struct {
	store.Tx
	log *writeLog
}

func (t countingTx) Update(ctx context.Context, fn func(store.Tx) error) error {
	return t.Tx.Update(ctx, func(tx store.Tx) error { return fn(countingTx{Tx: tx, log: t.log}) })
}

func (t countingTx) CreateSession(ctx context.Context, s pool.AuthSession) error {
	t.log.note("CreateSession", 1)
	return t.Tx.CreateSession(ctx, s)
}

func (t countingTx) ReplaceSession(ctx context.Context, old []byte, next pool.AuthSession) error {
	t.log.note("ReplaceSession", 1)
	return t.Tx.ReplaceSession(ctx, old, next)
}

func (t countingTx) DeleteSession(ctx context.Context, h []byte) error {
	t.log.note("DeleteSession", 1)
	return t.Tx.DeleteSession(ctx, h)
}

func (t countingTx) ConsumeAttempt(ctx context.Context, h []byte, now time.Time) (pool.AuthSession, error) {
	t.log.note("ConsumeAttempt", 1)
	return t.Tx.ConsumeAttempt(ctx, h, now)
}

func (t countingTx) PutCode(ctx context.Context, c pool.Code) error {
	t.log.note("PutCode", 1)
	return t.Tx.PutCode(ctx, c)
}

func (t countingTx) PutCodeIfAbsent(ctx context.Context, c pool.Code) (bool, error) {
	t.log.note("PutCodeIfAbsent", 1)
	return t.Tx.PutCodeIfAbsent(ctx, c)
}

func (t countingTx) ConsumeCodeAttempt(ctx context.Context, poolID, username, purpose string, now time.Time) (pool.Code, error) {
	t.log.note("ConsumeCodeAttempt", 1)
	return t.Tx.ConsumeCodeAttempt(ctx, poolID, username, purpose, now)
}

func (t countingTx) DeleteCode(ctx context.Context, poolID, username, purpose string) error {
	t.log.note("DeleteCode", 1)
	return t.Tx.DeleteCode(ctx, poolID, username, purpose)
}

func (t countingTx) TakeTokens(ctx context.Context, ls []store.Limit, now time.Time) (int, time.Time, error) {
	t.log.note("TakeTokens", len(ls))
	return t.Tx.TakeTokens(ctx, ls, now)
}

func (t countingTx) ReturnTokens(ctx context.Context, l store.Limit, n int, now time.Time) error {
	t.log.note("ReturnTokens", 1)
	return t.Tx.ReturnTokens(ctx, l, n, now)
}

func (t countingTx) ResetLimit(ctx context.Context, key string) error {
	t.log.note("ResetLimit", 1)
	return t.Tx.ResetLimit(ctx, key)
}

func (t countingTx) RecordFailure(ctx context.Context, f store.Failure) error {
	t.log.note("RecordFailure", 1)
	return t.Tx.RecordFailure(ctx, f)
}

func (t countingTx) ForgiveFailures(ctx context.Context, poolID, account, sessionID, source string, now time.Time) (int, error) {
	t.log.note("ForgiveFailures", 1)
	return t.Tx.ForgiveFailures(ctx, poolID, account, sessionID, source, now)
}

func (t countingTx) AppendAudit(ctx context.Context, ev store.AuditEvent) (int64, error) {
	t.log.note("AppendAudit:"+ev.Type, 1)
	return t.Tx.AppendAudit(ctx, ev)
}

func (t countingTx) EnqueueMessage(ctx context.Context, m store.OutboxMessage) error {
	t.log.note("EnqueueMessage", 1)
	return t.Tx.EnqueueMessage(ctx, m)
}

func (t countingTx) CreateRefreshToken(ctx context.Context, rt pool.RefreshToken) error {
	t.log.note("CreateRefreshToken", 1)
	return t.Tx.CreateRefreshToken(ctx, rt)
}

func (t countingTx) CreateUser(ctx context.Context, u pool.User) (bool, error) {
	t.log.note("CreateUser", 1)
	return t.Tx.CreateUser(ctx, u)
}

func (t countingTx) UpdateUser(ctx context.Context, u pool.User) error {
	t.log.note("UpdateUser", 1)
	return t.Tx.UpdateUser(ctx, u)
}

// rowQueue is the engine's queue as the server's: rows stored by the
// engine, in its unit of work. Nothing is delivered.
type rowQueue struct{}

func (rowQueue) Prepare(p pool.Pool, m deliver.Message, decoy bool, expiresAt time.Time) (store.OutboxMessage, error) {
	id := fmt.Sprintf("%d", time.Now().UnixNano())
	return store.OutboxMessage{ID: id, PoolID: p.ID, Channel: string(m.Channel), Purpose: m.Purpose, Decoy: decoy,
		Sealed: []byte("sealed"), CreatedAt: time.Now(), NotBefore: time.Now(), ExpiresAt: expiresAt}, nil
}

func (rowQueue) Enqueued(int) {}

// TestKnownAndUnknownUsersWriteAlike runs each operation that can be asked
// about a username for a known and an unknown one and requires the same
// store writes, kind by kind, in the same number of transactions: one.
func TestKnownAndUnknownUsersWriteAlike(t *testing.T) {
	ctx := auth.WithCaller(context.Background(), auth.Caller{IP: "198.51.100.7"})
	log := &writeLog{writes: map[string]int{}}
	base := stores[0].open(t)
	t.Cleanup(func() { base.Close() })
	st := countingStore{Store: base, log: log}
	e, err := auth.New(auth.Config{Store: st, Sender: &lastCodes{codes: map[string]string{}}, Queue: rowQueue{}, PublicURL: "http://127.0.0.1:8080"})
	if err != nil {
		t.Fatal(err)
	}
	confirmed := roomySettings()
	p, err := e.CreatePool(ctx, "test", "local", confirmed)
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.CreateClient(ctx, p.ID, auth.ClientOptions{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	unconfirmedSettings := roomySettings()
	unconfirmedSettings.AutoConfirm = false
	p2, err := e.CreatePool(ctx, "unconfirmed", "local", unconfirmedSettings)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := e.CreateClient(ctx, p2.ID, auth.ClientOptions{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	const known, unknown = "+14155550101", "+14155550199"
	if _, err := e.SignUp(ctx, auth.SignUpInput{ClientID: c.ID, Username: known}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.SignUp(ctx, auth.SignUpInput{ClientID: c2.ID, Username: known}); err != nil {
		t.Fatal(err)
	}
	// A returning user: the number was proven at an earlier sign-in.
	u, err := base.GetUser(ctx, p.ID, known)
	if err != nil {
		t.Fatal(err)
	}
	u.Attributes[pool.AttrPhoneNumberVerified] = "true"
	if err := base.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}

	type op struct {
		name string
		run  func(username string) error
	}
	initiate := func(flow string, params map[string]string) func(string) error {
		return func(username string) error {
			ps := maps.Clone(params)
			ps["USERNAME"] = username
			_, err := e.InitiateAuth(ctx, auth.InitiateAuthInput{ClientID: c.ID, AuthFlow: flow, AuthParameters: ps})
			return err
		}
	}
	wrongAnswer := func(username string) error {
		r, err := e.InitiateAuth(ctx, auth.InitiateAuthInput{ClientID: c.ID, AuthFlow: pool.FlowUserAuth,
			AuthParameters: map[string]string{"USERNAME": username, "PREFERRED_CHALLENGE": pool.ChallengeSMSOTP}})
		if err != nil {
			return err
		}
		log.reset() // count the answer alone
		_, err = e.RespondToAuthChallenge(ctx, auth.RespondInput{ClientID: c.ID, ChallengeName: pool.ChallengeSMSOTP, Session: r.Session,
			ChallengeResponses: map[string]string{"USERNAME": username, "SMS_OTP_CODE": "not-a-code"}})
		return err
	}
	ops := []op{
		{"InitiateAuth USER_AUTH SMS_OTP", initiate(pool.FlowUserAuth, map[string]string{"PREFERRED_CHALLENGE": pool.ChallengeSMSOTP})},
		{"InitiateAuth USER_AUTH EMAIL_OTP", initiate(pool.FlowUserAuth, map[string]string{"PREFERRED_CHALLENGE": pool.ChallengeEmail})},
		{"InitiateAuth USER_AUTH SELECT_CHALLENGE", initiate(pool.FlowUserAuth, map[string]string{})},
		{"InitiateAuth CUSTOM_AUTH", initiate(pool.FlowCustomAuth, map[string]string{})},
		{"RespondToAuthChallenge wrong code", wrongAnswer},
		{"ConfirmSignUp wrong code, first answer", func(username string) error {
			_, err := e.ConfirmSignUp(ctx, auth.ConfirmSignUpInput{ClientID: c2.ID, Username: username, ConfirmationCode: "000000x"})
			return err
		}},
		{"ResendConfirmationCode", func(username string) error {
			_, err := e.ResendConfirmationCode(ctx, auth.ResendConfirmationCodeInput{ClientID: c2.ID, Username: username})
			return err
		}},
		{"ConfirmSignUp wrong code", func(username string) error {
			_, err := e.ConfirmSignUp(ctx, auth.ConfirmSignUpInput{ClientID: c2.ID, Username: username, ConfirmationCode: "000000x"})
			return err
		}},
	}
	for _, o := range ops {
		t.Run(o.name, func(t *testing.T) {
			var got [2]map[string]int
			var txs [2]int
			var errs [2]string
			for i, username := range []string{known, unknown} {
				log.reset()
				if err := o.run(username); err != nil {
					errs[i] = err.Error()
				}
				got[i], txs[i] = log.reset()
			}
			if errs[0] != errs[1] {
				t.Errorf("answers differ: known %q, unknown %q", errs[0], errs[1])
			}
			if !maps.Equal(got[0], got[1]) {
				t.Errorf("writes differ:\n known   %s\n unknown %s", describe(got[0]), describe(got[1]))
			}
			for i, who := range []string{"known", "unknown"} {
				if txs[i] != 1 {
					t.Errorf("%s: %d transactions, want 1 (writes %s)", who, txs[i], describe(got[i]))
				}
			}
		})
	}
}

func describe(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}
