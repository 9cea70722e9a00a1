package pool

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSigningAlgorithm(t *testing.T) {
	if got := DefaultSettings().SigningAlgorithm; got != "RS256" {
		t.Errorf("DefaultSettings().SigningAlgorithm = %q, want RS256", got)
	}
	// A pool stored before the setting existed signs with the default.
	var old Settings
	if err := json.Unmarshal([]byte(`{"username_attributes":["email"],"code_length":6}`), &old); err != nil {
		t.Fatal(err)
	}
	if old.SigningAlgorithm != "" || old.EffectiveSigningAlgorithm() != "RS256" {
		t.Errorf("old pool: SigningAlgorithm %q, effective %q", old.SigningAlgorithm, old.EffectiveSigningAlgorithm())
	}
	b, err := json.Marshal(Settings{SigningAlgorithm: "EdDSA"})
	if err != nil || !strings.Contains(string(b), `"signing_alg":"EdDSA"`) {
		t.Errorf("JSON = %s, %v", b, err)
	}
	if b, _ := json.Marshal(Settings{}); strings.Contains(string(b), "signing_alg") {
		t.Errorf("unset algorithm in JSON: %s", b)
	}

	for _, alg := range []string{"", "RS256", "ES256", "EdDSA"} {
		if err := ValidateSigningAlgorithm(alg); err != nil {
			t.Errorf("ValidateSigningAlgorithm(%q) = %v", alg, err)
		}
	}
	for _, alg := range []string{"none", "HS256", "rs256", "Ed25519", "ES384", " RS256"} {
		err := ValidateSigningAlgorithm(alg)
		if err == nil || !strings.Contains(err.Error(), "RS256, ES256, EdDSA") || !strings.Contains(err.Error(), alg) {
			t.Errorf("ValidateSigningAlgorithm(%q) = %v, want an error naming it and the allowed set", alg, err)
		}
	}

	for in, want := range map[string]string{"RS256": "RS256", "es256": "ES256", "EDDSA": "EdDSA", "eddsa": "EdDSA"} {
		if got, err := ParseSigningAlgorithm(in); err != nil || got != want {
			t.Errorf("ParseSigningAlgorithm(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "HS256", "ed25519", "ES256 "} {
		if _, err := ParseSigningAlgorithm(in); err == nil || !strings.Contains(err.Error(), "RS256, ES256, EdDSA") {
			t.Errorf("ParseSigningAlgorithm(%q) = %v, want an error naming the allowed set", in, err)
		}
	}
}
