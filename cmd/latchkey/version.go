package main

import (
	"runtime/debug"
	"strings"
)

// buildVersion is what `latchkey version` and the server's start-up line
// report: the -ldflags version when a release build set one, else what the
// Go toolchain recorded in the binary (the module version and the commit it
// was built from), else "dev".
func buildVersion() string {
	if version != "dev" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return version
	}
	return describeBuild(info)
}

// describeBuild renders a binary's build information, e.g.
// "v0.0.0-20261207225203-4e2a421cd0f1 (commit 4e2a421cd0f1, 2026-12-07T22:52:03Z)".
func describeBuild(info *debug.BuildInfo) string {
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	v := info.Main.Version
	if v == "" || v == "(devel)" {
		v = "dev"
	}
	var details []string
	if rev := settings["vcs.revision"]; rev != "" {
		details = append(details, "commit "+rev[:min(12, len(rev))])
	}
	if t := settings["vcs.time"]; t != "" {
		details = append(details, t)
	}
	if settings["vcs.modified"] == "true" {
		details = append(details, "modified")
	}
	if len(details) == 0 {
		return v
	}
	return v + " (" + strings.Join(details, ", ") + ")"
}
