package rowcodec

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/latchkey/latchkey/internal/pool"
)

// IdentifierColumns are the columns of the identifiers table.
const IdentifierColumns = `pool_id, identifier, sub, kind`

// The kinds of identifier: a user's username, and its aliases, named after
// the attribute they come from.
const (
	KindUsername    = "username"
	KindEmail       = pool.AttrEmail
	KindPhoneNumber = pool.AttrPhoneNumber
)

// Identifier is one row of the identifiers table, without pool and sub.
type Identifier struct {
	Value string
	Kind  string
}

// Identifiers returns the identifiers u owns: its username, and each of
// its email and phone_number attributes that is verified, not empty and
// not already among them. They are sorted by value, so every transaction
// claims identifiers in the same order and two claimants of the same pair
// never wait on each other in a cycle.
func Identifiers(u pool.User) []Identifier {
	ids := []Identifier{{Value: u.Username, Kind: KindUsername}}
	for _, kind := range []string{KindEmail, KindPhoneNumber} {
		v := u.Attr(kind)
		if v == "" || !u.Verified(kind) ||
			slices.ContainsFunc(ids, func(id Identifier) bool { return id.Value == v }) {
			continue
		}
		ids = append(ids, Identifier{Value: v, Kind: kind})
	}
	slices.SortFunc(ids, func(a, b Identifier) int { return cmp.Compare(a.Value, b.Value) })
	return ids
}

// IdentifierTaken is the error for an identifier of u that another user of
// the pool holds. It names the kind, not the value.
func IdentifierTaken(id Identifier) error {
	if id.Kind == KindUsername {
		return fmt.Errorf("the username is another user's identifier: %w", pool.ErrConflict)
	}
	return fmt.Errorf("the verified %s is another user's identifier: %w", id.Kind, pool.ErrConflict)
}

// Qualify prefixes each column of a column list such as UserColumns with
// alias, for statements that join tables with columns of the same name.
func Qualify(alias, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}
