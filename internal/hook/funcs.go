package hook

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/latchkey/latchkey/internal/pool"
)

// Func is a hook written in Go. It reads ev.Request and sets ev.Response,
// as a Lambda function edits the event it returns; Typed gives it Go types.
// An error it returns is the hook's error, shown to the client as
// "<Trigger> failed with error <err>.", as a Lambda function's thrown error
// is. It should return when ctx is done.
type Func func(ctx context.Context, ev *Event) error

// Funcs is an Invoker that runs Go functions in process, keyed by trigger
// name: the hooks of a program that embeds Latchkey. It applies no
// deadline of its own (a function cannot be stopped from outside): pass a
// ctx with one. Errors map as a webhook's do:
//
//   - the function returns an error: UserLambdaValidation, with the error's
//     text as the message (an error already of a hook kind is kept);
//   - it returns after ctx's deadline, or panics: UnexpectedLambda;
//   - it leaves a response that is not a valid response of the trigger:
//     InvalidLambdaResponse.
type Funcs map[string]Func

// Invoke runs trigger's function on ev.
func (f Funcs) Invoke(ctx context.Context, trigger string, ev *Event) (err error) {
	if err := checkInvocation(trigger, ev); err != nil {
		return err
	}
	fn := f[trigger]
	if fn == nil {
		return fmt.Errorf("hook: %s: %w", trigger, ErrNotConfigured)
	}
	// The function works on a copy, so a failed call leaves ev unchanged.
	work := *ev
	work.Request = slices.Clone(ev.Request)
	work.Response = slices.Clone(ev.Response)
	defer func() {
		if r := recover(); r != nil {
			// The panic value may hold anything the function saw (a code),
			// so only its type goes into the cause.
			err = unexpectedError(trigger, "the hook function panicked", fmt.Errorf("panic of type %T", r))
		}
	}()
	if ferr := fn(ctx, &work); ferr != nil {
		return funcError(ctx, trigger, ferr)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return unexpectedError(trigger, "the hook did not answer in time", ctx.Err())
	}
	raw, nerr := normalizeResponse(trigger, work.Response)
	if nerr != nil {
		return nerr
	}
	if cerr := checkResponse(trigger, ev.Version, raw); cerr != nil {
		return cerr
	}
	ev.Response = raw
	return nil
}

// funcError maps a function's error.
func funcError(ctx context.Context, trigger string, err error) error {
	var pe *pool.Error
	if errors.As(err, &pe) {
		switch pe.Kind {
		case pool.KindUserLambdaValidation, pool.KindUnexpectedLambda, pool.KindInvalidLambdaResponse:
			return pe
		}
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) && errors.Is(err, context.DeadlineExceeded) {
		return unexpectedError(trigger, "the hook did not answer in time", err)
	}
	msg := err.Error()
	if pe != nil {
		msg = pe.Message // its cause is for logs
	}
	if strings.TrimSpace(msg) == "" {
		msg = "(no message)"
	}
	return failedError(trigger, msg, err)
}

// Typed adapts a function of a trigger's typed event to a Func:
//
//	hook.Funcs{
//		hook.PreSignUp: hook.Typed(func(ctx context.Context, ev *hook.PreSignUpEvent) error {
//			ev.Response.AutoConfirmUser = true
//			return nil
//		}),
//	}
//
// The event's request must decode as Req (a caller's mistake otherwise).
func Typed[Req, Resp any](fn func(ctx context.Context, ev *TypedEvent[Req, Resp]) error) Func {
	return func(ctx context.Context, ev *Event) error {
		te, err := DecodeEvent[Req, Resp](ev)
		if err != nil {
			return unexpectedError(TriggerOf(ev.TriggerSource), "the event does not fit the hook function's types", err)
		}
		if err := fn(ctx, te); err != nil {
			return err
		}
		enc, err := te.Encode()
		if err != nil {
			return invalidError(TriggerOf(ev.TriggerSource), "the response cannot be encoded as JSON")
		}
		ev.Response = enc.Response
		return nil
	}
}
