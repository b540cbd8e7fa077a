package embeddedpg

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// EnvInitCache names the folder where a copy of a freshly initialised data directory is kept
// (Options.InitCache); "off" keeps none.
const EnvInitCache = "WIJKBRUG_PG_INIT_CACHE"

// initCacheDir is where copies of fresh data directories are kept, or "" for nowhere: the
// option, else EnvInitCache, else <user cache dir>/wijkbrug/initdb.
func initCacheDir(opt string) string {
	v := opt
	if v == "" {
		v = os.Getenv(EnvInitCache)
	}
	switch v {
	case "off":
		return ""
	case "":
		d, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		return filepath.Join(d, "wijkbrug", "initdb")
	}
	abs, err := filepath.Abs(v)
	if err != nil {
		return ""
	}
	return abs
}

// initCacheKey names the cache entry for initdb in binDir run with args (without -D): a data
// directory is only reused for the same binaries asked the same thing. The binaries' size and
// time change with every package update, minor releases included.
func initCacheKey(binDir string, args []string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", binDir, strings.Join(args, "\x00"))
	for _, prog := range []string{"initdb", "postgres"} {
		fi, err := os.Stat(filepath.Join(binDir, prog))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00%d\x00", prog, fi.Size(), fi.ModTime().UnixNano())
	}
	return "pg-" + hex.EncodeToString(h.Sum(nil))[:20], nil
}

// fromInitCache copies the cached data directory into dataDir, owned by owner. It reports
// false when there is no entry; on a failed copy it removes what it wrote (dataDir was empty)
// and returns the error, and the caller runs initdb.
func fromInitCache(entry, dataDir string, owner *serverOwner) (bool, error) {
	if _, err := os.Stat(filepath.Join(entry, "PG_VERSION")); err != nil {
		return false, nil
	}
	if err := copyTree(entry, dataDir, owner); err != nil {
		_ = os.RemoveAll(dataDir)
		return false, fmt.Errorf("embeddedpg: copy the initialised data directory from %s: %w", entry, err)
	}
	return true, nil
}

// initResult is a data directory as initdb left it, read into memory before postgres first
// runs in it (39 MB in 966 files here: 30–60 ms when just written, up to 170 ms from a colder
// page cache), so that it can be written into the cache later, while postgres runs
// (Options.DeferInitCache).
type initResult struct {
	files []resultFile // in WalkDir's order: a directory before what it holds
}

type resultFile struct {
	rel  string
	mode fs.FileMode // permission bits
	dir  bool
	data []byte
}

// readInitResult reads the data directory dataDir into memory. It holds only directories and
// regular files; anything else is an error.
func readInitResult(dataDir string) (*initResult, error) {
	r := &initResult{}
	err := filepath.WalkDir(dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dataDir, path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		f := resultFile{rel: rel, mode: info.Mode().Perm(), dir: d.IsDir()}
		switch {
		case d.IsDir():
		case d.Type().IsRegular():
			if f.data, err = os.ReadFile(path); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: not a regular file or directory", path)
		}
		r.files = append(r.files, f)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("embeddedpg: read initdb's result: %w", err)
	}
	return r, nil
}

// writeTo writes the result as the directory dst, which must not exist, with its files' modes.
func (r *initResult) writeTo(dst string) error {
	for _, f := range r.files {
		path := filepath.Join(dst, f.rel)
		if f.dir {
			if err := makeDir(path, f.mode, nil); err != nil {
				return err
			}
			continue
		}
		if err := os.WriteFile(path, f.data, f.mode); err != nil {
			return err
		}
		if err := os.Chmod(path, f.mode); err != nil { // as Mkdir, past the umask
			return err
		}
	}
	return nil
}

// toInitCache keeps initdb's result (read before postgres ever ran in it) as the entry key in
// dir. It is written beside the entry and renamed into place, so a reader sees a whole entry
// or none; when another process stored the same entry first, its copy stays. Entries of other
// binaries or arguments are removed, and copies left half-written more than an hour ago.
func toInitCache(dir, key string, result *initResult) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(dir, key+".tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	staged := filepath.Join(tmp, "data")
	if err := result.writeTo(staged); err != nil {
		return err
	}
	// On disk before it is renamed into place: after a crash an entry is whole, not files cut
	// short whose copies a cluster would start from and fail on later. One sync of the file
	// system, not one per file (a thousand journal commits).
	if err := syncFS(staged); err != nil {
		return err
	}
	entry := filepath.Join(dir, key)
	if err := os.Rename(staged, entry); err != nil {
		if _, statErr := os.Stat(filepath.Join(entry, "PG_VERSION")); statErr == nil {
			return nil // stored by another process meanwhile
		}
		return err
	}
	others, _ := os.ReadDir(dir)
	for _, e := range others {
		name := e.Name()
		switch {
		case !strings.HasPrefix(name, "pg-") || name == key:
		case strings.Contains(name, ".tmp-"):
			// Left by a process that died while writing it (or is writing it now: an hour is
			// far more than a copy takes).
			if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > time.Hour {
				_ = os.RemoveAll(filepath.Join(dir, name))
			}
		default: // another binaries' or options' entry
			_ = os.RemoveAll(filepath.Join(dir, name))
		}
	}
	return nil
}

// copyTree copies the directory src to dst (which must not exist), keeping the permission
// bits, and hands every copy to owner (nil: the current user). A data directory holds only
// directories and regular files; anything else is an error. (Copying its thousand files four
// at a time took as long as one after the other here: 0.33–0.49 s against 0.34–0.52 s.)
func copyTree(src, dst string, owner *serverOwner) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			info, err := d.Info()
			if err != nil {
				return err
			}
			return makeDir(filepath.Join(dst, rel), info.Mode().Perm(), owner)
		case d.Type().IsRegular():
			return copyFile(path, filepath.Join(dst, rel), owner)
		}
		return fmt.Errorf("%s: not a regular file or directory", path)
	})
}

func makeDir(path string, mode fs.FileMode, owner *serverOwner) error {
	if err := os.Mkdir(path, mode); err != nil {
		return err
	}
	// Mkdir applies the umask; the data directory's modes are PostgreSQL's.
	if err := os.Chmod(path, mode); err != nil {
		return err
	}
	if owner != nil {
		return os.Chown(path, owner.uid, owner.gid)
	}
	return nil
}

func copyFile(src, dst string, owner *serverOwner) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return err
	}
	mode := info.Mode().Perm()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if _, err = io.Copy(out, in); err != nil {
		return err
	}
	if err = out.Chmod(mode); err != nil { // as Mkdir, past the umask
		return err
	}
	if owner != nil {
		err = out.Chown(owner.uid, owner.gid)
	}
	return err
}
