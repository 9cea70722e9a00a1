package rowcodec

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

func TestNewBucket(t *testing.T) {
	tests := []struct {
		name    string
		limit   store.Limit
		want    Bucket
		wantErr string
	}{
		{"whole ms", store.Limit{Key: "k", Burst: 5, Every: time.Second}, Bucket{burst: 5, every: 1000, window: 5000}, ""},
		{"rounds every up", store.Limit{Key: "k", Burst: 2, Every: 1500 * time.Microsecond}, Bucket{burst: 2, every: 2, window: 4}, ""},
		{"sub-millisecond every", store.Limit{Key: "k", Burst: 1, Every: time.Nanosecond}, Bucket{burst: 1, every: 1, window: 1}, ""},
		{"caps window", store.Limit{Key: "k", Burst: math.MaxInt, Every: time.Hour}, Bucket{burst: math.MaxInt, every: 3_600_000, window: maxWindow}, ""},
		{"window at cap", store.Limit{Key: "k", Burst: 1 << 31, Every: (1 << 31) * time.Millisecond}, Bucket{burst: 1 << 31, every: 1 << 31, window: maxWindow}, ""},
		{"empty key", store.Limit{Burst: 1, Every: time.Second}, Bucket{}, "empty key"},
		{"zero burst", store.Limit{Key: "k", Every: time.Second}, Bucket{}, `"k": burst 0 is not positive`},
		{"negative burst", store.Limit{Key: "k", Burst: -1, Every: time.Second}, Bucket{}, `"k": burst -1 is not positive`},
		{"zero every", store.Limit{Key: "k", Burst: 1}, Bucket{}, `"k": interval 0s is not positive`},
		{"negative every", store.Limit{Key: "k", Burst: 1, Every: -time.Second}, Bucket{}, `"k": interval -1s is not positive`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewBucket(tt.limit)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("NewBucket = %+v, %v; want error %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("NewBucket = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestMulCapped(t *testing.T) {
	tests := []struct{ a, b, want int64 }{
		{1, 1, 1},
		{3, 1000, 3000},
		{1 << 31, 1 << 31, maxWindow},
		{1<<31 + 1, 1 << 31, maxWindow},
		{math.MaxInt64, 1, maxWindow},
		{math.MaxInt64, math.MaxInt64, maxWindow},
	}
	for _, tt := range tests {
		if got := mulCapped(tt.a, tt.b); got != tt.want {
			t.Errorf("mulCapped(%d, %d) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestBucketTake(t *testing.T) {
	b := Bucket{burst: 3, every: 1000, window: 3000}
	capped := Bucket{burst: math.MaxInt64, every: 1000, window: maxWindow}
	const now = 1_700_000_000_000
	tests := []struct {
		name        string
		b           Bucket
		tat         int64
		wantNext    int64
		wantRetryAt int64
		wantOK      bool
	}{
		{"full bucket", b, now, now + 1000, 0, true},
		{"tat long past", b, now - 1_000_000, now + 1000, 0, true},
		{"one token left", b, now + 2000, now + 3000, 0, true},
		{"one token left, part owed", b, now + 1999, now + 2999, 0, true},
		{"empty", b, now + 3000, 0, now + 1000, false},
		{"empty, part refilled", b, now + 2500, 0, now + 500, false},
		{"capped window", capped, now + maxWindow - 1000, now + maxWindow, 0, true},
		{"capped window, empty", capped, now + maxWindow, 0, now + 1000, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, retryAt, ok := tt.b.Take(tt.tat, now)
			if next != tt.wantNext || retryAt != tt.wantRetryAt || ok != tt.wantOK {
				t.Errorf("Take(%d, %d) = %d, %d, %v; want %d, %d, %v",
					tt.tat, int64(now), next, retryAt, ok, tt.wantNext, tt.wantRetryAt, tt.wantOK)
			}
		})
	}
}

func TestBucketTokens(t *testing.T) {
	b := Bucket{burst: 3, every: 1000, window: 3000}
	capped := Bucket{burst: math.MaxInt64, every: 1000, window: maxWindow}
	const now = 1_700_000_000_000
	tests := []struct {
		name string
		b    Bucket
		tat  int64
		want int
	}{
		{"full", b, now, 3},
		{"tat past", b, now - 5000, 3},
		{"one taken", b, now + 1000, 2},
		{"part owed rounds up", b, now + 1, 2},
		{"two and a bit owed", b, now + 2001, 0},
		{"all owed", b, now + 3000, 0},
		{"beyond window", b, now + 10_000, 0},
		{"capped window is exact", capped, now + 1000, math.MaxInt64 - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.b.Tokens(tt.tat, now); got != tt.want {
				t.Errorf("Tokens(%d, %d) = %d, want %d", tt.tat, int64(now), got, tt.want)
			}
		})
	}
}

func TestNewBuckets(t *testing.T) {
	limits := []store.Limit{
		{Key: "b", Burst: 1, Every: time.Second},
		{Key: "a", Burst: 2, Every: time.Millisecond},
		{Key: "b", Burst: 1, Every: time.Second},
	}
	buckets, keys, err := NewBuckets(limits)
	if err != nil {
		t.Fatal(err)
	}
	want := []Bucket{{1, 1000, 1000}, {2, 1, 2}, {1, 1000, 1000}}
	if !slices.Equal(buckets, want) {
		t.Errorf("buckets = %+v, want %+v", buckets, want)
	}
	if !slices.Equal(keys, []string{"a", "b"}) {
		t.Errorf("keys = %q, want [a b]", keys)
	}

	limits[2].Burst = 0
	if _, _, err := NewBuckets(limits); err == nil || err.Error() != `limit 2: "b": burst 0 is not positive` {
		t.Errorf("NewBuckets with a bad limit = %v", err)
	}
}

func TestTakeAll(t *testing.T) {
	const now = 1_000_000
	a := store.Limit{Key: "a", Burst: 2, Every: time.Second}
	b := store.Limit{Key: "b", Burst: 1, Every: time.Minute}
	tests := []struct {
		name        string
		limits      []store.Limit
		tats        map[string]int64
		wantDenied  int
		wantRetryAt int64
		wantTats    map[string]int64
	}{
		{"missing buckets are full", []store.Limit{a, b}, map[string]int64{},
			-1, 0, map[string]int64{"a": now + 1000, "b": now + 60_000}},
		{"same key twice takes twice", []store.Limit{a, a}, map[string]int64{"a": now - 5000},
			-1, 0, map[string]int64{"a": now + 2000}},
		{"same key thrice is denied the third", []store.Limit{a, a, a}, map[string]int64{},
			2, now + 1000, map[string]int64{"a": now + 2000}},
		{"stops at the first empty bucket", []store.Limit{b, a}, map[string]int64{"b": now + 60_000},
			0, now + 60_000, map[string]int64{"b": now + 60_000}},
		{"second denied", []store.Limit{a, b}, map[string]int64{"a": now, "b": now + 30_000},
			1, now + 30_000, map[string]int64{"a": now + 1000, "b": now + 30_000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buckets, _, err := NewBuckets(tt.limits)
			if err != nil {
				t.Fatal(err)
			}
			denied, retryAt := TakeAll(tt.limits, buckets, tt.tats, now)
			if denied != tt.wantDenied || retryAt != tt.wantRetryAt {
				t.Errorf("TakeAll = %d, %d; want %d, %d", denied, retryAt, tt.wantDenied, tt.wantRetryAt)
			}
			if len(tt.tats) != len(tt.wantTats) {
				t.Errorf("tats = %v, want %v", tt.tats, tt.wantTats)
			}
			for k, v := range tt.wantTats {
				if tt.tats[k] != v {
					t.Errorf("tats = %v, want %v", tt.tats, tt.wantTats)
					break
				}
			}
		})
	}
}

func TestReturnBack(t *testing.T) {
	l := store.Limit{Key: "k", Burst: 5, Every: 1500 * time.Microsecond}
	tests := []struct {
		name    string
		limit   store.Limit
		n       int
		want    int64
		wantErr string
	}{
		{"none", l, 0, 0, ""},
		{"one", l, 1, 2, ""},
		{"several", l, 3, 6, ""},
		{"more than burst", l, 10, 20, ""},
		{"capped", store.Limit{Key: "k", Burst: 1, Every: time.Hour}, math.MaxInt, maxWindow, ""},
		{"negative", l, -1, 0, `return tokens to "k": negative count -1`},
		{"bad limit", store.Limit{Key: "k", Burst: 1}, 1, 0, `return tokens: "k": interval 0s is not positive`},
		{"bad limit, none", store.Limit{Burst: 1, Every: time.Second}, 0, 0, "return tokens: empty key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReturnBack(tt.limit, tt.n)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("ReturnBack = %d, %v; want error %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ReturnBack = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}
