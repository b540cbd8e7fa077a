package feed

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
)

func TestCheckWebhookURL(t *testing.T) {
	ok := []string{"https://partner.example.nl/wijkbrug/events", "https://partner.example.nl:8443/h?x=1", "https://8.8.8.8/hook", "https://[2a00:1450:4001::1]/h"}
	for _, u := range ok {
		if _, err := CheckWebhookURL(u, false); err != nil {
			t.Errorf("%s refused: %v", u, err)
		}
	}
	bad := []string{"", "http://partner.example.nl/", "ftp://partner.example.nl/", "https://user:pw@partner.example.nl/",
		"https://partner.example.nl/#frag", "https:///nohost", "partner.example.nl/hook", "https://intranet/hook",
		"https://localhost/hook", "https://127.0.0.1/hook", "https://[::1]/hook", "https://10.0.0.1/", "https://192.168.1.1/",
		"https://172.16.0.1/", "https://169.254.169.254/latest/meta-data", "https://100.64.0.1/", "https://0.0.0.0/",
		"https://[fd00::1]/", "https://[fe80::1]/", "https://[::ffff:10.0.0.1]/", "https://[64:ff9b::a00:1]/",
		"https://partner.example.nl:0/", "https://partner.example.nl:99999/", "https://" + strings.Repeat("a", 2050) + ".nl/"}
	for _, u := range bad {
		_, err := CheckWebhookURL(u, false)
		e, isApp := apperr.As(err)
		if !isApp || e.Kind != apperr.KindInvalidArgument || len(e.Violations) != 1 || e.Violations[0].Field != "webhook.url" {
			t.Errorf("%q: %v", u, err)
		}
	}
	// Development and tests: loopback only, never other internal addresses.
	for _, u := range []string{"https://127.0.0.1:8443/h", "https://localhost:8443/h", "https://[::1]:8443/h"} {
		if _, err := CheckWebhookURL(u, true); err != nil {
			t.Errorf("%s refused with loopback allowed: %v", u, err)
		}
	}
	for _, u := range []string{"http://127.0.0.1/h", "https://10.0.0.1/h", "https://169.254.169.254/"} {
		if _, err := CheckWebhookURL(u, true); err == nil {
			t.Errorf("%s accepted with loopback allowed", u)
		}
	}
}

func TestAddressAllowed(t *testing.T) {
	for _, s := range []string{"8.8.8.8", "145.21.1.1", "2a00:1450:4001::1"} {
		if !AddressAllowed(netip.MustParseAddr(s), false) {
			t.Errorf("%s refused", s)
		}
	}
	for _, s := range []string{"127.0.0.1", "::1", "10.1.1.1", "172.31.255.255", "192.168.0.1", "169.254.169.254", "100.100.100.200",
		"0.0.0.0", "::", "224.0.0.1", "255.255.255.255", "fc00::1", "fe80::1", "::ffff:127.0.0.1", "::ffff:192.168.1.1", "64:ff9b::7f00:1",
		"2002:7f00:1::", "198.18.0.1"} {
		if AddressAllowed(netip.MustParseAddr(s), false) {
			t.Errorf("%s allowed", s)
		}
	}
	if !AddressAllowed(netip.MustParseAddr("127.0.0.1"), true) || AddressAllowed(netip.MustParseAddr("10.0.0.1"), true) {
		t.Error("allowLoopback admits loopback only")
	}
}

func TestBackoff(t *testing.T) {
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	for i, w := range want {
		if got := Backoff(i+1, time.Second, 10*time.Second); got != w {
			t.Errorf("failure %d: %s, want %s", i+1, got, w)
		}
	}
	if Backoff(200, time.Second, time.Minute) != time.Minute {
		t.Error("no cap for many failures")
	}
}

// TestClientRefusesInternalAddresses: the check at dial time holds whatever the URL's host
// name resolves to (a registered name re-pointed at an internal address, DNS rebinding).
func TestClientRefusesInternalAddresses(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer srv.Close()
	roots := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	call := func(allowLoopback bool) error {
		c := newWebhookClient(WebhookConfig{AllowLoopback: allowLoopback, RootCAs: roots}.withDefaults())
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, nil)
		resp, err := c.Do(req)
		if err == nil {
			_ = resp.Body.Close()
		}
		return err
	}
	if err := call(false); err == nil || !strings.Contains(err.Error(), "refused to connect to internal address") {
		t.Fatalf("production client reached a loopback address: %v", err)
	}
	if err := call(true); err != nil {
		t.Fatalf("development client: %v", err)
	}
}
