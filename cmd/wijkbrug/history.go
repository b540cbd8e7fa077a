package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	protoenum "github.com/wijkbrug/wijkbrug/pkg/protoenum"

	"github.com/wijkbrug/wijkbrug/pkg/authz"
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
	conf, err := privacyOfficerTLS(*dataDir)
	if err != nil {
		return dataDirHint(err)
	}
	var addrs []string
	for i := range historyServices {
		addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", *basePort+i))
	}
	err = printAccessHistory(ctx, conf, addrs, *resident, out)
	if err != nil && strings.Contains(err.Error(), "certificate signed by unknown authority") {
		// Most often the suite runs from another data directory (make run EPHEMERAL=1).
		return fmt.Errorf("%w (the CA in %s is not the running suite's: give the suite's data directory with -data-dir, e.g. the throw-away one the make run banner names)", err, filepath.Join(*dataDir, "pki"))
	}
	return err
}

// historyServices are the services access-history asks, in the order of their ports.
var historyServices = []string{"intake", "casedirection", "providermonitoring", "referral"}

// privacyOfficerTLS is the demo municipality's client certificate from a suite's data directory.
func privacyOfficerTLS(dataDir string) (*tls.Config, error) {
	pki := filepath.Join(dataDir, "pki")
	cert, err := tls.LoadX509KeyPair(filepath.Join(pki, "municipality.pem"), filepath.Join(pki, "municipality-key.pem"))
	if err != nil {
		return nil, fmt.Errorf("municipality certificate: %w", err)
	}
	caPEM, err := os.ReadFile(filepath.Join(pki, "ca.pem"))
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	return &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}, RootCAs: roots}, nil
}

// printAccessHistory asks the services at addrs (in historyServices' order) for the resident's
// entries and prints them newest first, then what each purpose shown stands for.
func printAccessHistory(ctx context.Context, conf *tls.Config, addrs []string, resident string, out io.Writer) error {
	type row struct {
		service string
		e       *accesslogv1.AccessEntry
	}
	var rows []row
	for i, service := range historyServices {
		cc, err := grpcx.Dial(addrs[i], conf, 10*time.Second)
		if err != nil {
			return err
		}
		client := accesslogv1.NewAccessLogServiceClient(cc)
		callCtx := grpcx.ActingUser(ctx, "privacy-officer", "privacy_officer", "right-of-access")
		token := ""
		for {
			resp, err := client.ListResidentAccess(callCtx, &accesslogv1.ListResidentAccessRequest{ResidentBsn: resident, PageToken: token, PageSize: 500})
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
	// The route says how access was allowed: an EMERGENCY read stands out from a TEAM one.
	fmt.Fprintf(out, "%-24s %-19s %-40s %-22s %-20s %-8s %-10s %s\n", "when", "service", "action", "organisation (type)", "user (role)", "outcome", "route", "purpose")
	for _, r := range rows {
		e := r.e
		fmt.Fprintf(out, "%-24s %-19s %-40s %-22s %-20s %-8s %-10s %s\n", e.GetAt().AsTime().Local().Format("2006-01-02 15:04:05"), r.service, e.GetAction(),
			e.GetOrganisationOin()+" ("+protoenum.Code(e.GetOrganisationType())+")", e.GetUser()+" ("+e.GetRole()+")", e.GetOutcome(), e.GetRoute(), e.GetPurpose())
	}
	fmt.Fprintf(out, "%d entries\n", len(rows))
	// The resident is owed why, not only who: each purpose shown, in the register's words.
	var purposes []string
	for _, r := range rows {
		purposes = append(purposes, r.e.GetPurpose())
	}
	slices.Sort(purposes)
	purposes = slices.Compact(purposes)
	if len(purposes) > 0 {
		fmt.Fprintln(out, "\npurposes (register of processing activities):")
	}
	for _, p := range purposes {
		if a, ok := authz.ActivityOf(p); ok {
			fmt.Fprintf(out, "  %-20s %s (legal basis: %s)\n", p, a.Name, a.LegalBasis)
		} else {
			fmt.Fprintf(out, "  %-20s not in the register (recorded by a release that did not check purposes against it)\n", p)
		}
	}
	return nil
}
