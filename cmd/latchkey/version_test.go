package main

import (
	"runtime/debug"
	"testing"
)

func TestDescribeBuild(t *testing.T) {
	tests := []struct {
		name string
		info debug.BuildInfo
		want string
	}{
		{"nothing recorded", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev"},
		{"a release", debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, "v1.2.3"},
		{"from a checkout", debug.BuildInfo{
			Main: debug.Module{Version: "v0.0.0-20261207225203-4e2a421cd0f1"},
			Settings: []debug.BuildSetting{
				{Key: "vcs.revision", Value: "4e2a421cd0f1b2c3d4e5f60718293a4b5c6d7e8f"},
				{Key: "vcs.time", Value: "2026-12-07T22:52:03Z"},
				{Key: "vcs.modified", Value: "true"},
			},
		}, "v0.0.0-20261207225203-4e2a421cd0f1 (commit 4e2a421cd0f1, 2026-12-07T22:52:03Z, modified)"},
	}
	for _, tc := range tests {
		if got := describeBuild(&tc.info); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
