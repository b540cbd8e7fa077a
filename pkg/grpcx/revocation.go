package grpcx

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/identity"
)

// DenyList refuses certificates by serial number (hex) or by OIN, read from a file that is
// re-read when it changes — revoking a partner's certificate needs no restart. Lines are
// "serial:<hex>" (as `openssl x509 -serial` prints it, or with colons between the bytes as
// `openssl x509 -text` does; any case, leading zeros do not matter) or "oin:<20 digits>";
// '#' starts a comment, blank lines are allowed. Any other line is refused: at start the list
// does not load; on a re-read the previous list stays in force and the problem is logged at
// ERROR — a typo never silently drops a revocation.
type DenyList struct {
	path string
	log  *slog.Logger

	mu      sync.RWMutex
	serials map[string]bool
	oins    map[string]bool
	checked time.Time

	// reloading serialises re-reads; seen and failing belong to its holder.
	reloading sync.Mutex
	seen      fileVersion // the file last read (loaded or refused)
	failing   string      // the problem last logged ("": the file loaded)
}

// fileVersion tells a changed file from the one read last.
type fileVersion struct {
	mod  time.Time
	size int64
}

// NewDenyList loads path (which must exist; an empty file denies nothing). Problems with
// later versions of the file are logged on log (nil: slog.Default()).
func NewDenyList(path string, log *slog.Logger) (*DenyList, error) {
	if log == nil {
		log = slog.Default()
	}
	d := &DenyList{path: path, log: log}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	serials, oins, err := readDenyList(path)
	if err != nil {
		return nil, err
	}
	d.serials, d.oins, d.seen, d.checked = serials, oins, fileVersion{st.ModTime(), st.Size()}, time.Now()
	return d, nil
}

// readDenyList reads and parses the file at path.
func readDenyList(path string) (serials, oins map[string]bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	serials, oins, err = ParseDenyList(f)
	if err != nil {
		return nil, nil, fmt.Errorf("%s:%w", path, err)
	}
	return serials, oins, nil
}

// ParseDenyList parses a deny list: the serials (normalised as NormaliseSerial does) and the
// OINs it revokes. An error names the first bad line ("3: …").
func ParseDenyList(r io.Reader) (serials, oins map[string]bool, err error) {
	serials, oins = map[string]bool{}, map[string]bool{}
	sc := bufio.NewScanner(r)
	n := 1
	for ; sc.Scan(); n++ {
		raw := sc.Text()
		line := strings.TrimSpace(strings.SplitN(raw, "#", 2)[0])
		switch {
		case line == "":
		case strings.HasPrefix(line, "serial:"):
			s, err := NormaliseSerial(strings.TrimPrefix(line, "serial:"))
			if err != nil {
				return nil, nil, fmt.Errorf("%d: %s: %w", n, quoteLine(raw), err)
			}
			serials[s] = true
		case strings.HasPrefix(line, "oin:"):
			oin := strings.TrimSpace(strings.TrimPrefix(line, "oin:"))
			if !identity.ValidOIN(oin) {
				return nil, nil, fmt.Errorf("%d: %s: an OIN is 20 digits (oin:<OIN>)", n, quoteLine(raw))
			}
			oins[oin] = true
		default:
			return nil, nil, fmt.Errorf("%d: %s: want serial:<hex> or oin:<OIN> ('#' starts a comment)", n, quoteLine(raw))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("%d: %w", n, err)
	}
	return serials, oins, nil
}

// quoteLine quotes a line of the file for an error, shortened.
func quoteLine(s string) string {
	if r := []rune(s); len(r) > 60 {
		s = string(r[:60]) + "…"
	}
	return fmt.Sprintf("%q", s)
}

// NormaliseSerial turns a certificate serial number written in hexadecimal — "C558D9…" as
// `openssl x509 -serial` prints it, or "c5:58:d9:…" as `openssl x509 -text` does — into the
// form the deny list compares: lower case, without colons and leading zeros (as
// big.Int.Text(16) prints the certificate's serial).
func NormaliseSerial(s string) (string, error) {
	s = strings.TrimSpace(s)
	hex := strings.ReplaceAll(s, ":", "")
	if hex == "" || strings.HasPrefix(s, ":") || strings.HasSuffix(s, ":") || strings.Contains(s, "::") {
		return "", errors.New("want serial:<hex>, e.g. serial:c558d951… or serial:c5:58:d9:51:…")
	}
	n, ok := new(big.Int).SetString(hex, 16)
	if !ok || n.Sign() < 0 || strings.ContainsAny(hex, "+-_xX") {
		return "", errors.New("the serial is not hexadecimal (serial:<hex>, e.g. serial:c558d951… or serial:c5:58:d9:51:…)")
	}
	return n.Text(16), nil
}

// Watch re-reads the file when it changed, every interval until ctx ends, so that a broken
// or removed file is logged soon after the edit (not only at the next handshake).
func (d *DenyList) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d.refresh()
		}
	}
}

// refresh re-reads the file when it changed, at most once a second. A file that cannot be
// read or parsed keeps the last good list in force and is logged at ERROR (once per problem);
// a good one replaces the list and is logged at INFO.
func (d *DenyList) refresh() {
	d.mu.RLock()
	recent := time.Since(d.checked) < time.Second
	d.mu.RUnlock()
	if recent || !d.reloading.TryLock() {
		return
	}
	defer d.reloading.Unlock()
	d.mu.Lock()
	d.checked = time.Now()
	d.mu.Unlock()
	st, err := os.Stat(d.path)
	if err != nil {
		d.seen = fileVersion{} // read it again once it is back
		d.fail(err)
		return
	}
	v := fileVersion{st.ModTime(), st.Size()}
	if v == d.seen {
		return
	}
	d.seen = v
	serials, oins, err := readDenyList(d.path)
	if err != nil {
		d.fail(err)
		return
	}
	d.mu.Lock()
	d.serials, d.oins = serials, oins
	d.mu.Unlock()
	d.failing = ""
	d.log.Info("deny list reloaded", "file", d.path, "serials", len(serials), "oins", len(oins))
}

// fail logs a re-read that failed, once per distinct problem.
func (d *DenyList) fail(err error) {
	if msg := err.Error(); msg != d.failing {
		d.failing = msg
		d.mu.RLock()
		serials, oins := len(d.serials), len(d.oins)
		d.mu.RUnlock()
		d.log.Error("deny list NOT reloaded: the previous list stays in force until the file is fixed",
			"file", d.path, "error", msg, "serials", serials, "oins", oins)
	}
}

// Revoked reports whether the list names cert (by serial or OIN). The servers ask it on every
// call too: a handshake check alone left a connection opened before the revocation in use for
// as long as the partner kept it open. Watch keeps the list current.
func (d *DenyList) Revoked(cert *x509.Certificate) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.serials[cert.SerialNumber.Text(16)] || d.oins[cert.Subject.SerialNumber]
}

// VerifyConnection is a tls.Config.VerifyConnection hook (it runs after chain verification).
func (d *DenyList) VerifyConnection(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return nil
	}
	d.refresh()
	leaf := cs.PeerCertificates[0]
	d.mu.RLock()
	revoked := d.serials[leaf.SerialNumber.Text(16)] || d.oins[leaf.Subject.SerialNumber]
	d.mu.RUnlock()
	if revoked {
		d.log.Warn("refused a revoked certificate (deny list)", "serial", leaf.SerialNumber.Text(16), "oin", leaf.Subject.SerialNumber, "subject", leaf.Subject.String())
		return errors.New("certificate is revoked")
	}
	return nil
}
