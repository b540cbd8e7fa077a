package grpcx_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/devca"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestParseDenyList(t *testing.T) {
	ok := []struct {
		name, content string
		serials, oins []string
	}{
		{"empty", "", nil, nil},
		{"comments and blanks", "# revoked partners\n\n   \n# serial:ff\n", nil, nil},
		{"plain hex, as openssl x509 -serial prints it", "serial:C558D951D556988B3C5A6AEF06772072\n", []string{"c558d951d556988b3c5a6aef06772072"}, nil},
		{"colon form, as openssl x509 -text prints it", "serial:c5:58:d9:51:d5:56:98:8b:3c:5a:6a:ef:06:77:20:72", []string{"c558d951d556988b3c5a6aef06772072"}, nil},
		{"DER's leading zero byte and upper-case colon form", "serial:00:C5:58\nserial:0c\n", []string{"c558", "c"}, nil},
		{"spaces and trailing comment", "  serial: 0a1b  # laptop stolen 2024-05-01\noin:00000001000000000001 # contract ended\n", []string{"a1b"}, []string{"00000001000000000001"}},
	}
	for _, c := range ok {
		t.Run(c.name, func(t *testing.T) {
			serials, oins, err := grpcx.ParseDenyList(strings.NewReader(c.content))
			if err != nil {
				t.Fatal(err)
			}
			if len(serials) != len(c.serials) || len(oins) != len(c.oins) {
				t.Fatalf("got serials %v, OINs %v; want %v, %v", serials, oins, c.serials, c.oins)
			}
			for _, s := range c.serials {
				if !serials[s] {
					t.Errorf("serial %s missing from %v", s, serials)
				}
			}
			for _, o := range c.oins {
				if !oins[o] {
					t.Errorf("OIN %s missing from %v", o, oins)
				}
			}
		})
	}
	bad := []struct{ name, content, want string }{
		{"garbage", "oin:00000001000000000001\ngarbage\n", "2: \"garbage\": want serial:<hex> or oin:<OIN>"},
		{"not hex", "serial:zz-bad", "1: \"serial:zz-bad\": the serial is not hexadecimal"},
		{"openssl's serial= pasted", "# ok\nserial:serial=C558D951\n", "2: "},
		{"empty serial", "serial:", "1: "},
		{"stray colons", "serial:c5::58", "1: "},
		{"trailing colon", "serial:c5:58:", "1: "},
		{"signed", "serial:-c558", "1: "},
		{"short OIN", "oin:123", "1: \"oin:123\": an OIN is 20 digits"},
		{"OIN with letters", "oin:0000000100000000000A", "1: "},
		{"upper-case keyword", "SERIAL:c558", "1: "},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := grpcx.ParseDenyList(strings.NewReader(c.content))
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("want an error starting %q, got %v", c.want, err)
			}
		})
	}
}

// A serial in any of the written forms matches what the certificate carries.
func TestNormaliseSerialMatchesCertificate(t *testing.T) {
	for _, hex := range []string{"c558d951d556988b3c5a6aef06772072", "0c558d", "1", "7fffffff", "80"} {
		n, _ := new(big.Int).SetString(hex, 16)
		der := n.Bytes()
		if der[0]&0x80 != 0 {
			der = append([]byte{0}, der...) // as DER, and so openssl -text, writes it
		}
		var colon []string
		for _, b := range der {
			colon = append(colon, fmt.Sprintf("%02x", b))
		}
		for _, form := range []string{hex, strings.ToUpper(hex), strings.Join(colon, ":"), strings.ToUpper(strings.Join(colon, ":"))} {
			got, err := grpcx.NormaliseSerial(form)
			if err != nil || got != n.Text(16) {
				t.Errorf("%q: got %q, %v; want %q", form, got, err, n.Text(16))
			}
		}
	}
}

// denyFixture is a server with a deny list at path whose log goes to logs, and a GP
// certificate (leaf) to call it with.
type denyFixture struct {
	path string
	logs *syncBuffer
	leaf *big.Int
	call func() error
}

func newDenyFixture(t *testing.T, initial string) denyFixture {
	t.Helper()
	ca, _ := devca.New("ca")
	f := denyFixture{path: filepath.Join(t.TempDir(), "denied"), logs: &syncBuffer{}}
	conf, leaf := gpTLS(t, ca, "00000001000000000003")
	f.leaf = leaf.SerialNumber
	if err := os.WriteFile(f.path, []byte(strings.ReplaceAll(initial, "LEAF", colonSerial(leaf.SerialNumber))), 0o644); err != nil {
		t.Fatal(err)
	}
	deny, err := grpcx.NewDenyList(f.path, slog.New(slog.NewTextHandler(f.logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	addr := startWith(t, ca, grpcx.RateLimit{}, deny)
	f.call = func() error { return callWith(t, addr, conf) }
	return f
}

func callWith(t *testing.T, addr string, conf *tls.Config) error {
	cc, err := grpcx.Dial(addr, conf.Clone(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	_, err = referralv1.NewReferralServiceClient(cc).GetSignal(ctx(t), &referralv1.GetSignalRequest{SignalId: idOK})
	return err
}

// colonSerial writes a serial as `openssl x509 -text` does: DER bytes, colon-separated.
func colonSerial(n *big.Int) string {
	der := n.Bytes()
	if der[0]&0x80 != 0 {
		der = append([]byte{0}, der...)
	}
	var parts []string
	for _, b := range der {
		parts = append(parts, fmt.Sprintf("%02X", b))
	}
	return strings.Join(parts, ":")
}

// F17 of the operator test: the colon form revokes, it is not silently ignored.
func TestDenyListColonFormRevokes(t *testing.T) {
	f := newDenyFixture(t, "serial:LEAF\n")
	if err := f.call(); status.Code(err) != codes.Unavailable {
		t.Fatalf("a certificate revoked by its serial in the colon form must be refused at the handshake, got %v", err)
	}
	if logs := f.logs.String(); !strings.Contains(logs, "revoked certificate") || !strings.Contains(logs, f.leaf.Text(16)) {
		t.Errorf("the refusal is logged with the serial:\n%s", logs)
	}
}

// F5 of the operator test: a broken edit or a removed file while running keeps the previous
// list in force and says so at ERROR; a good edit is taken again.
func TestDenyListBadReloadKeepsPreviousList(t *testing.T) {
	f := newDenyFixture(t, "serial:LEAF\n")
	if err := f.call(); status.Code(err) != codes.Unavailable {
		t.Fatalf("revoked at start: got %v", err)
	}
	edit := func(content string) {
		t.Helper()
		time.Sleep(1100 * time.Millisecond) // the list is re-read at most once a second
		if content == "" {
			if err := os.Remove(f.path); err != nil {
				t.Fatal(err)
			}
			return
		}
		if err := os.WriteFile(f.path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// An operator lifts nothing but mistypes a new line: the revocation must stay.
	edit("serial:" + f.leaf.Text(16) + "\nserial:zz-bad\n")
	if err := f.call(); status.Code(err) != codes.Unavailable {
		t.Fatalf("after a bad edit the previous list stays in force, got %v", err)
	}
	logs := f.logs.String()
	if !strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, "NOT reloaded") || !strings.Contains(logs, f.path+":2:") || !strings.Contains(logs, "not hexadecimal") {
		t.Fatalf("a bad edit is logged at ERROR naming the file, the line and the problem:\n%s", logs)
	}
	edit("")
	if err := f.call(); status.Code(err) != codes.Unavailable {
		t.Fatalf("after the file was removed the previous list stays in force, got %v", err)
	}
	if logs := f.logs.String(); strings.Count(logs, "level=ERROR") != 2 || !strings.Contains(logs, "no such file") {
		t.Fatalf("a removed file is logged at ERROR once:\n%s", logs)
	}
	if err := f.call(); status.Code(err) != codes.Unavailable {
		t.Fatalf("still revoked, got %v", err)
	}
	edit("oin:00000001000000000099\n")
	if err := f.call(); err != nil {
		t.Fatalf("a good edit lifts the revocation: %v", err)
	}
	if logs := f.logs.String(); !strings.Contains(logs, "deny list reloaded") || strings.Count(logs, "level=ERROR") != 2 {
		t.Fatalf("a good edit is logged at INFO:\n%s", logs)
	}
}

// A revocation also ends the use of a connection opened before it: the handshake check alone
// left it working for as long as the partner kept it open (a gRPC connection lives long).
func TestRevocationReachesAnOpenConnection(t *testing.T) {
	ca, _ := devca.New("ca")
	path := filepath.Join(t.TempDir(), "denied")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	deny, err := grpcx.NewDenyList(path, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	wctx, stop := context.WithCancel(context.Background())
	defer stop()
	go deny.Watch(wctx, 20*time.Millisecond)
	conf, leaf := gpTLS(t, ca, "00000001000000000003")
	addr := startWith(t, ca, grpcx.RateLimit{}, deny)
	cc, err := grpcx.Dial(addr, conf.Clone(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	client := referralv1.NewReferralServiceClient(cc)
	if _, err := client.GetSignal(ctx(t), &referralv1.GetSignalRequest{SignalId: idOK}); err != nil {
		t.Fatalf("before the revocation: %v", err)
	}
	if err := os.WriteFile(path, []byte("serial:"+leaf.SerialNumber.Text(16)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := client.GetSignal(ctx(t), &referralv1.GetSignalRequest{SignalId: idOK})
		if status.Code(err) == codes.Unauthenticated && strings.Contains(err.Error(), grpcx.RevokedMessage) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a call on the connection opened before the revocation still answers: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
