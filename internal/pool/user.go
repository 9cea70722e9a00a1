package pool

import "time"

// UserStatus is Cognito's UserStatusType, restricted to what a passwordless
// pool uses.
type UserStatus string

const (
	StatusUnconfirmed UserStatus = "UNCONFIRMED"
	StatusConfirmed   UserStatus = "CONFIRMED"
)

// User is an account in a pool.
type User struct {
	PoolID string
	// Sub is the immutable UUID of the user.
	Sub string
	// Username is the E.164 phone number or the lower-cased email the user
	// signed up with. Unique within the pool.
	Username   string
	Attributes map[string]string
	Status     UserStatus
	Enabled    bool
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Attr returns the value of a user attribute, or "".
func (u User) Attr(name string) string { return u.Attributes[name] }

// Verified reports whether the given attribute ("email" or "phone_number")
// has its *_verified flag set to "true".
func (u User) Verified(attr string) bool { return u.Attributes[attr+"_verified"] == "true" }
