package grpcx

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// DenyList refuses certificates by serial number (hex) or by OIN, read from a file that is
// re-read when it changes — revoking a partner's certificate needs no restart. Lines are
// "serial:<hex>" or "oin:<20 digits>"; '#' starts a comment.
type DenyList struct {
	path    string
	mu      sync.RWMutex
	serials map[string]bool
	oins    map[string]bool
	modTime time.Time
	checked time.Time
}

// NewDenyList loads path (which must exist; an empty file denies nothing).
func NewDenyList(path string) (*DenyList, error) {
	d := &DenyList{path: path}
	if err := d.reload(); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *DenyList) reload() error {
	st, err := os.Stat(d.path)
	if err != nil {
		return err
	}
	f, err := os.Open(d.path)
	if err != nil {
		return err
	}
	defer f.Close()
	serials, oins := map[string]bool{}, map[string]bool{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(strings.SplitN(sc.Text(), "#", 2)[0])
		switch {
		case line == "":
		case strings.HasPrefix(line, "serial:"):
			serials[strings.ToLower(strings.TrimPrefix(line, "serial:"))] = true
		case strings.HasPrefix(line, "oin:"):
			oins[strings.TrimPrefix(line, "oin:")] = true
		default:
			return fmt.Errorf("%s:%d: want serial:<hex> or oin:<OIN>", d.path, n)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	d.serials, d.oins, d.modTime = serials, oins, st.ModTime()
	d.mu.Unlock()
	return nil
}

// refresh re-reads the file when it changed, at most once a second. A broken file keeps the
// last good list (and the error is visible on the next successful start).
func (d *DenyList) refresh() {
	d.mu.RLock()
	recent := time.Since(d.checked) < time.Second
	d.mu.RUnlock()
	if recent {
		return
	}
	d.mu.Lock()
	d.checked = time.Now()
	mod := d.modTime
	d.mu.Unlock()
	if st, err := os.Stat(d.path); err == nil && !st.ModTime().Equal(mod) {
		_ = d.reload()
	}
}

// VerifyConnection is a tls.Config.VerifyConnection hook (it runs after chain verification).
func (d *DenyList) VerifyConnection(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return nil
	}
	d.refresh()
	leaf := cs.PeerCertificates[0]
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.serials[strings.ToLower(leaf.SerialNumber.Text(16))] || d.oins[leaf.Subject.SerialNumber] {
		return errors.New("certificate is revoked")
	}
	return nil
}
