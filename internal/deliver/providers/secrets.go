package providers

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/latchkey/latchkey/internal/pool"
)

// maxSecretLen bounds a secret read from a file: a mistaken path to a
// large file should fail, not be sent to a provider as a password.
const maxSecretLen = 16 << 10

// resolveSecrets reads each referenced secret: an environment variable or
// a file, with surrounding white space (a file's trailing newline)
// trimmed. Errors say where a secret was looked for, never what it is.
func (b *Builder) resolveSecrets(refs map[string]pool.SecretRef) (map[string]string, error) {
	out := make(map[string]string, len(refs))
	names := make([]string, 0, len(refs))
	for name := range refs {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		v, err := b.secret(refs[name])
		if err != nil {
			return nil, fmt.Errorf("secret %s: %w", name, err)
		}
		out[name] = v
	}
	return out, nil
}

func (b *Builder) secret(ref pool.SecretRef) (string, error) {
	if err := checkRef(ref); err != nil {
		return "", err
	}
	if ref.Env != "" {
		v := strings.TrimSpace(b.getenv(ref.Env))
		if v == "" {
			return "", fmt.Errorf("environment variable %s is not set or empty", ref.Env)
		}
		return v, nil
	}
	data, err := b.readFile(ref.File)
	if err != nil {
		// The path is ours to show; os errors hold nothing else.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return "", fmt.Errorf("file %s: %w", ref.File, pe.Err)
		}
		return "", fmt.Errorf("file %s: cannot be read", ref.File)
	}
	if len(data) > maxSecretLen {
		return "", fmt.Errorf("file %s is larger than %d bytes", ref.File, maxSecretLen)
	}
	v := strings.TrimSpace(string(data))
	if v == "" {
		return "", fmt.Errorf("file %s is empty", ref.File)
	}
	return v, nil
}

// secretsFingerprint hashes the current values of a channel's secrets (or
// why they cannot be read), so the Router rebuilds a chain when a secret
// is rotated on this node, without keeping the values themselves.
func (b *Builder) secretsFingerprint(ps []pool.Provider) string {
	h := sha256.New()
	for i, p := range ps {
		sec, err := b.resolveSecrets(p.Secrets)
		fmt.Fprintf(h, "%d\x00", i)
		if err != nil {
			fmt.Fprintf(h, "error\x00%s\x00", err)
			continue
		}
		names := make([]string, 0, len(sec))
		for name := range sec {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			fmt.Fprintf(h, "%s\x00%s\x00", name, sec[name])
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
