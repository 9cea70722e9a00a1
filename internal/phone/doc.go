// Package phone parses, checks and masks phone numbers used as usernames and
// SMS destinations. Every number Latchkey stores or sends to is E.164
// ("+14155552671"), so two spellings of one number are one identity.
//
// # Which numbers are accepted
//
// Normalize accepts a number when github.com/nyaruka/phonenumbers parses it
// and either reports it valid (IsValidNumber) or reports it possible with a
// full national number (IsPossibleNumberWithReason == IS_POSSIBLE: a known
// country calling code and a plausible length for it). Validity is not
// required, for three reasons:
//
//   - The ranges set aside for fiction and documentation are not valid in
//     libphonenumber: +1 555 555 0100 (NANP 555-01xx) and +44 7700 900123
//     (Ofcom's drama range) both fail IsValidNumber, yet Amplify and Cognito
//     users test with exactly these numbers.
//   - Cognito accepts any "+[1-9]\d{1,14}"; clients written against it must
//     not be refused numbers it would take.
//   - Validity follows the numbering-plan metadata, which changes with every
//     library release; a number accepted at sign-up must not become
//     unparseable after a dependency bump and lock its owner out.
//
// Numbers that are possible only locally (no area code, e.g. "+1 555 0100"),
// have an unknown country code, or have the wrong length for their country
// are still rejected. Validity would not stop SMS abuse anyway: premium-rate
// numbers are valid.
package phone
