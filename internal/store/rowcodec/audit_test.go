package rowcodec

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

func TestCeilMS(t *testing.T) {
	base := time.UnixMilli(1_700_000_000_123)
	tests := []struct {
		t    time.Time
		want int64
	}{
		{base, 1_700_000_000_123},
		{base.Add(time.Nanosecond), 1_700_000_000_124},
		{base.Add(999_999 * time.Nanosecond), 1_700_000_000_124},
		{base.Add(time.Millisecond), 1_700_000_000_124},
	}
	for _, tt := range tests {
		if got := CeilMS(tt.t); got != tt.want {
			t.Errorf("CeilMS(%v) = %d, want %d", tt.t, got, tt.want)
		}
	}
}

func TestAuditConditions(t *testing.T) {
	since := time.UnixMilli(1000).Add(time.Microsecond)
	conds, args := AuditConditions(store.AuditFilter{
		PoolID: "p", Username: "u", Type: "sign_in", Since: since, Until: time.UnixMilli(2000), AfterID: 7, Limit: 3,
	})
	if got := strings.Join(conds, "|"); got != "pool_id =|username =|type =|at >=|at <|id >" {
		t.Errorf("conds = %q", conds)
	}
	want := []any{"p", "u", "sign_in", int64(1001), int64(2000), int64(7)}
	if !slices.Equal(args, want) {
		t.Errorf("args = %#v, want %#v", args, want)
	}
	if conds, args := AuditConditions(store.AuditFilter{Limit: 5}); conds != nil || args != nil {
		t.Errorf("empty filter: %q, %v", conds, args)
	}
	for n, want := range map[int]int{-1: DefaultAuditLimit, 0: DefaultAuditLimit, 5: 5, MaxAuditLimit + 1: MaxAuditLimit} {
		if got := AuditLimit(n); got != want {
			t.Errorf("AuditLimit(%d) = %d, want %d", n, got, want)
		}
	}
}
