package suite

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// AccessLogKeyFile is where a data directory keeps the HMAC key of the access-log chains: a
// file beside the database, not in it (production mounts it from a secret).
func AccessLogKeyFile(dataDir string) string { return filepath.Join(dataDir, "accesslog.key") }

// ReadAccessLogKey reads the key file (base64).
func ReadAccessLogKey(dataDir string) (string, error) {
	b, err := os.ReadFile(AccessLogKeyFile(dataDir))
	if err != nil {
		return "", err
	}
	k := strings.TrimSpace(string(b))
	if k == "" {
		return "", errors.New(AccessLogKeyFile(dataDir) + " is empty")
	}
	return k, nil
}

// loadOrCreateAccessLogKey keeps the development access-log key with the data it protects.
func loadOrCreateAccessLogKey(dataDir string) (string, error) {
	if k, err := ReadAccessLogKey(dataDir); err == nil {
		return k, nil
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	k := base64.StdEncoding.EncodeToString(raw)
	return k, os.WriteFile(AccessLogKeyFile(dataDir), []byte(k+"\n"), 0o600)
}
