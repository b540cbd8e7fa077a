package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	protoenum "github.com/wijkbrug/wijkbrug/pkg/protoenum"

	"github.com/wijkbrug/wijkbrug/pkg/bsn"
	accesslogv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/accesslog/v1"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
)

// runAccessHistory answers a resident's request for access: it collects the entries about the
// resident from the access logs of all four services of a running suite, as the demo
// municipality's privacy officer, and prints them newest first.
func runAccessHistory(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("access-history")
	resident := fs.String("bsn", "", "BSN of the resident (required)")
	dataDir := fs.String("data-dir", ".wijkbrug", "data directory of the running suite (for the certificates)")
	basePort := fs.Int("base-port", 50051, "base port of the running suite")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *resident == "" {
		return fmt.Errorf("-bsn is required")
	}
	if err := bsn.Validate(*resident); err != nil {
		return fmt.Errorf("-bsn %q is not a valid BSN: %v", *resident, err)
	}
	pki := filepath.Join(*dataDir, "pki")
	cert, err := tls.LoadX509KeyPair(filepath.Join(pki, "municipality.pem"), filepath.Join(pki, "municipality-key.pem"))
	if err != nil {
		return fmt.Errorf("municipality certificate: %w", err)
	}
	caPEM, err := os.ReadFile(filepath.Join(pki, "ca.pem"))
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	conf := &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}, RootCAs: roots}
	type row struct {
		service string
		e       *accesslogv1.AccessEntry
	}
	var rows []row
	for i, service := range []string{"intake", "casedirection", "providermonitoring", "referral"} {
		cc, err := grpcx.Dial(fmt.Sprintf("127.0.0.1:%d", *basePort+i), conf, 10*time.Second)
		if err != nil {
			return err
		}
		client := accesslogv1.NewAccessLogServiceClient(cc)
		callCtx := grpcx.ActingUser(ctx, "privacy-officer", "privacy_officer", "right-of-access")
		token := ""
		for {
			resp, err := client.ListResidentAccess(callCtx, &accesslogv1.ListResidentAccessRequest{ResidentBsn: *resident, PageToken: token, PageSize: 500})
			if err != nil {
				_ = cc.Close()
				return fmt.Errorf("%s: %w", service, err)
			}
			for _, e := range resp.GetEntries() {
				rows = append(rows, row{service, e})
			}
			if token = resp.GetNextPageToken(); token == "" {
				break
			}
		}
		_ = cc.Close()
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].e.GetAt().AsTime().After(rows[j].e.GetAt().AsTime()) })
	fmt.Fprintf(out, "%-24s %-19s %-40s %-22s %-20s %-8s %s\n", "when", "service", "action", "organisation (type)", "user (role)", "outcome", "purpose")
	for _, r := range rows {
		e := r.e
		fmt.Fprintf(out, "%-24s %-19s %-40s %-22s %-20s %-8s %s\n", e.GetAt().AsTime().Local().Format("2006-01-02 15:04:05"), r.service, e.GetAction(),
			e.GetOrganisationOin()+" ("+protoenum.Code(e.GetOrganisationType())+")", e.GetUser()+" ("+e.GetRole()+")", e.GetOutcome(), e.GetPurpose())
	}
	fmt.Fprintf(out, "%d entries\n", len(rows))
	return nil
}
