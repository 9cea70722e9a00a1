package auth

import (
	"context"
	"encoding/json"

	"github.com/latchkey/latchkey/internal/hook"
	"github.com/latchkey/latchkey/internal/pool"
)

// sdkVersion is what hooks see as callerContext.awsSdkVersion.
const sdkVersion = "latchkey"

// hooks returns the pool's hook router: the in-process functions the
// engine was given, then the pool's webhooks. nil when the pool replaces
// no step.
func (e *Engine) hooks(p pool.Pool) (*hook.Router, error) {
	cfg, err := hook.ParseConfig(p.Settings.Hooks)
	if err != nil {
		return nil, internal("pool hooks", err)
	}
	r, err := e.resolver.Router(cfg)
	if err != nil {
		return nil, internal("pool hooks", err)
	}
	return r, nil
}

// hookCall is one invocation of a trigger.
type hookCall struct {
	pool     pool.Pool
	clientID string
	trigger  string
	source   string
	userName string
	request  any
}

// runHook invokes the trigger's hook, if the pool configures one, and
// returns its raw response; ran is false when the step is built in. Hook
// failures are already *pool.Error with Cognito's exception kinds.
func (e *Engine) runHook(ctx context.Context, r *hook.Router, c hookCall) (resp json.RawMessage, ran bool, err error) {
	if !r.Configured(c.trigger) {
		return nil, false, nil
	}
	if err := e.outside("run " + c.trigger); err != nil {
		return nil, true, err
	}
	req, err := json.Marshal(c.request)
	if err != nil {
		return nil, true, internal("encode "+c.trigger+" event", err)
	}
	ev := &hook.Event{
		Header: hook.Header{
			Version:       hook.EventVersion(r.LambdaVersion(c.trigger)),
			TriggerSource: c.source,
			Region:        c.pool.Region,
			UserPoolID:    c.pool.ID,
			UserName:      c.userName,
			CallerContext: hook.CallerContext{AWSSDKVersion: sdkVersion, ClientID: c.clientID},
		},
		Request:  req,
		Response: json.RawMessage("{}"),
	}
	if err := r.Invoke(ctx, c.trigger, ev); err != nil {
		if pool.KindOf(err) == pool.KindInternal {
			return nil, true, internal("run "+c.trigger, err)
		}
		e.log.WarnContext(ctx, "hook failed", "pool", c.pool.ID, "trigger", c.trigger, "error", err)
		return nil, true, err
	}
	return ev.Response, true, nil
}
