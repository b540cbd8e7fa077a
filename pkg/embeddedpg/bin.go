package embeddedpg

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// EnvBinDir names the environment variable that overrides where the
// PostgreSQL server binaries (initdb, postgres) are looked up.
const EnvBinDir = "WIJKBRUG_PG_BIN"

// ErrNotFound is returned (wrapped) when no PostgreSQL server binaries can be
// located. Callers such as the test kit match it to print installation hints.
var ErrNotFound = errors.New("embeddedpg: PostgreSQL server binaries (initdb, postgres) not found")

// debianGlob is where Debian/Ubuntu install server binaries; they are not on
// PATH there, so PATH alone would miss the common case.
const debianGlob = "/usr/lib/postgresql/*/bin"

// BinDir returns the directory holding initdb and postgres. Order: the
// WIJKBRUG_PG_BIN override, the highest version under /usr/lib/postgresql,
// then PATH.
func BinDir() (string, error) {
	if dir := os.Getenv(EnvBinDir); dir != "" {
		if hasServerBinaries(dir) {
			return dir, nil
		}
		return "", fmt.Errorf("%w: %s=%q does not contain initdb and postgres", ErrNotFound, EnvBinDir, dir)
	}

	matches, _ := filepath.Glob(debianGlob)
	best, bestVer := "", []int(nil)
	for _, dir := range matches {
		if !hasServerBinaries(dir) {
			continue
		}
		ver := parseVersion(filepath.Base(filepath.Dir(dir)))
		if best == "" || compareVersions(ver, bestVer) > 0 {
			best, bestVer = dir, ver
		}
	}
	if best != "" {
		return best, nil
	}

	if p, err := exec.LookPath("postgres"); err == nil {
		dir := filepath.Dir(p)
		if hasServerBinaries(dir) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("%w: looked in $%s, %s and PATH (on Debian: apt-get install postgresql)", ErrNotFound, EnvBinDir, debianGlob)
}

func hasServerBinaries(dir string) bool {
	for _, name := range []string{"initdb", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// parseVersion turns "15" or "9.6" into comparable integer parts; anything
// unparsable sorts lowest.
func parseVersion(s string) []int {
	var out []int
	for part := range strings.SplitSeq(s, ".") {
		n, err := strconv.Atoi(part)
		if err != nil {
			return nil
		}
		out = append(out, n)
	}
	return out
}

func compareVersions(a, b []int) int {
	for i := 0; i < len(a) || i < len(b); i++ {
		var x, y int
		if i < len(a) {
			x = a[i]
		} else {
			x = -1
		}
		if i < len(b) {
			y = b[i]
		} else {
			y = -1
		}
		if x != y {
			if x > y {
				return 1
			}
			return -1
		}
	}
	return 0
}
