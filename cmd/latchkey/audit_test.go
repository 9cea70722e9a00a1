package main

import (
	"strings"
	"testing"
)

// TestAuditTypeMustExist: an event type that does not exist is refused
// with the list of those that do, instead of an empty listing.
func TestAuditTypeMustExist(t *testing.T) {
	dir := t.TempDir()
	createPool(t, dir)
	code, _, errOut := cli(t, nil, "audit", "--type", "bogus", "--data", dir)
	if code == 0 || !strings.Contains(errOut, `--type "bogus" is not an event type`) || !strings.Contains(errOut, "account.locked") {
		t.Errorf("audit --type bogus: exit %d, %q", code, errOut)
	}
	if code, _, errOut := cli(t, nil, "audit", "--type", "sign_in.success", "--data", dir); code != 0 {
		t.Errorf("audit --type sign_in.success: exit %d, %q", code, errOut)
	}
}
