// Package pool holds Latchkey's domain types — user pools, app clients, users,
// sign-in sessions, codes, refresh tokens and signing keys — and the typed
// errors every layer uses. It has no behaviour beyond validation and no
// dependencies on storage or transport.
package pool
