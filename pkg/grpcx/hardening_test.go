package grpcx_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/authz"
	"github.com/wijkbrug/wijkbrug/pkg/devca"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func startWith(t *testing.T, ca *devca.CA, rl grpcx.RateLimit, deny *grpcx.DenyList) string {
	t.Helper()
	cert, _, _, err := ca.IssueService(devca.Org{OIN: "00000099000000000001", Name: "svc", Type: "SERVICE"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.Pool()}
	if deny != nil {
		conf.VerifyConnection = deny.VerifyConnection
	}
	var revoked func(*x509.Certificate) bool
	if deny != nil {
		revoked = deny.Revoked
	}
	s, err := grpcx.NewServer(grpcx.ServerConfig{Service: "test", TLS: conf, RateLimit: rl, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Revoked: revoked,
		Policy: authz.Policy{referralv1.ReferralService_GetSignal_FullMethodName: {OrgTypes: []identity.OrgType{identity.OrgGP, identity.OrgService}}}})
	if err != nil {
		t.Fatal(err)
	}
	referralv1.RegisterReferralServiceServer(s, stub{})
	lis, err := grpcx.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	return lis.Addr().String()
}

func gpTLS(t *testing.T, ca *devca.CA, oin string) (*tls.Config, *x509.Certificate) {
	t.Helper()
	cert, _, _, err := ca.IssueClient(devca.Org{OIN: oin, Name: "Praktijk " + oin[16:], Type: "GP"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(cert.Certificate[0])
	return &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}, RootCAs: ca.Pool()}, leaf
}

func TestRateLimitPerOrganisation(t *testing.T) {
	ca, _ := devca.New("ca")
	addr := startWith(t, ca, grpcx.RateLimit{Rate: 0.5, Burst: 3}, nil)
	call := func(conf *tls.Config) error {
		cc, err := grpcx.Dial(addr, conf, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		_, err = referralv1.NewReferralServiceClient(cc).GetSignal(ctx(t), &referralv1.GetSignalRequest{SignalId: idOK})
		return err
	}
	a, _ := gpTLS(t, ca, "00000001000000000001")
	b, _ := gpTLS(t, ca, "00000001000000000002")
	for i := 0; i < 3; i++ {
		if err := call(a); err != nil {
			t.Fatalf("call %d within the burst: %v", i, err)
		}
	}
	if err := call(a); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("over the budget: want RESOURCE_EXHAUSTED, got %v", err)
	}
	if err := call(b); err != nil {
		t.Fatalf("another organisation has its own budget: %v", err)
	}
}

// Wijkbrug's own services are not limited: the calls they make are paced by the events and
// partner calls that already passed a limit. A service over a partner's budget still gets
// through, while a partner with the same budget is refused.
func TestRateLimitSparesWijkbrugServices(t *testing.T) {
	ca, _ := devca.New("ca")
	addr := startWith(t, ca, grpcx.RateLimit{Rate: 0.5, Burst: 1, UserRate: 0.5, UserBurst: 1}, nil)
	call := func(conf *tls.Config) error {
		cc, err := grpcx.Dial(addr, conf, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		_, err = referralv1.NewReferralServiceClient(cc).GetSignal(ctx(t), &referralv1.GetSignalRequest{SignalId: idOK})
		return err
	}
	svcCert, _, _, err := ca.IssueClient(devca.Org{OIN: "00000099000000000002", Name: "intake", Type: "SERVICE"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	svc := &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{svcCert}, RootCAs: ca.Pool()}
	for i := 0; i < 5; i++ {
		if err := call(svc); err != nil {
			t.Fatalf("service call %d: want OK (services are not limited), got %v", i, err)
		}
	}
	gp, _ := gpTLS(t, ca, "00000001000000000009")
	if err := call(gp); err != nil {
		t.Fatalf("partner's first call: %v", err)
	}
	if err := call(gp); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("partner over the same budget: want RESOURCE_EXHAUSTED, got %v", err)
	}
}

// Professionals of one organisation each have their own budget: one user over it does not
// stop a colleague; the organisation's ceiling still holds for all of them together.
func TestRateLimitPerUserWithinOrganisation(t *testing.T) {
	ca, _ := devca.New("ca")
	addr := startWith(t, ca, grpcx.RateLimit{UserRate: 0.5, UserBurst: 2, Rate: 0.5, Burst: 5}, nil)
	conf, _ := gpTLS(t, ca, "00000001000000000004")
	cc, err := grpcx.Dial(addr, conf, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	client := referralv1.NewReferralServiceClient(cc)
	as := func(user string) error {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := client.GetSignal(grpcx.ActingUser(c, user, "gp", "signal"), &referralv1.GetSignalRequest{SignalId: idOK})
		return err
	}
	for i := 0; i < 2; i++ {
		if err := as("anna"); err != nil {
			t.Fatalf("anna's call %d within her burst: %v", i, err)
		}
	}
	if err := as("anna"); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("anna over her budget: want RESOURCE_EXHAUSTED, got %v", err)
	}
	for i := 0; i < 2; i++ {
		if err := as("bram"); err != nil {
			t.Fatalf("a colleague has a budget of his own (call %d): %v", i, err)
		}
	}
	// The organisation's ceiling (burst 5) was reached by anna's 2 and bram's 2 plus one more.
	if err := as("carla"); err != nil {
		t.Fatalf("fifth call of the organisation, within its burst: %v", err)
	}
	if err := as("dirk"); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("over the organisation's ceiling: want RESOURCE_EXHAUSTED, got %v", err)
	}
}

func TestDenyListReloadsWithoutRestart(t *testing.T) {
	ca, _ := devca.New("ca")
	path := filepath.Join(t.TempDir(), "denied")
	if err := os.WriteFile(path, []byte("# nothing denied yet\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	deny, err := grpcx.NewDenyList(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := startWith(t, ca, grpcx.RateLimit{}, deny)
	conf, leaf := gpTLS(t, ca, "00000001000000000003")
	call := func() error {
		cc, err := grpcx.Dial(addr, conf.Clone(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		_, err = referralv1.NewReferralServiceClient(cc).GetSignal(ctx(t), &referralv1.GetSignalRequest{SignalId: idOK})
		return err
	}
	if err := call(); err != nil {
		t.Fatalf("before revocation: %v", err)
	}
	time.Sleep(1100 * time.Millisecond) // the list is re-read at most once a second
	if err := os.WriteFile(path, []byte("serial:"+leaf.SerialNumber.Text(16)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := call(); status.Code(err) != codes.Unavailable {
		t.Fatalf("revoked certificate must be refused at the handshake, got %v", err)
	}
	time.Sleep(1100 * time.Millisecond)
	if err := os.WriteFile(path, []byte("oin:00000001000000000099\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := call(); err != nil {
		t.Fatalf("after lifting the revocation: %v", err)
	}
	if err := os.WriteFile(path, []byte("bogus line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := grpcx.NewDenyList(path, nil); err == nil {
		t.Fatal("a malformed deny list must be refused at start")
	}
}

// FuzzDenyList: any file content is loaded or refused, never a panic.
func FuzzDenyList(f *testing.F) {
	f.Add("serial:0a1b\noin:00000001000000000001\n# comment\n")
	f.Add("bogus")
	f.Fuzz(func(t *testing.T, content string) {
		path := filepath.Join(t.TempDir(), "deny")
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, _ = grpcx.NewDenyList(path, nil)
	})
}
