package svc

import (
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/config"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
)

// The README's configuration table must list every setting, so operators can trust it.
func TestREADMEListsEverySetting(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var c Config
	for _, it := range config.Describe(&c) {
		if !strings.Contains(string(b), "`"+it.Env+"`") || !strings.Contains(string(b), "`-"+it.Flag+"`") {
			t.Errorf("README.md does not document %s / -%s", it.Env, it.Flag)
		}
	}
}

// An idempotency retention under a day is refused at start (a retry after its key was deleted
// would be applied a second time); 0 keeps the keys.
func TestShortIdempotencyRetentionIsRefused(t *testing.T) {
	for _, d := range []time.Duration{0, -time.Hour, MinIdempotencyRetention, 168 * time.Hour} {
		if err := checkRetention(Config{IdempotencyRetention: d}); err != nil {
			t.Errorf("%s: %v, want accepted", d, err)
		}
	}
	err := checkRetention(Config{IdempotencyRetention: time.Hour})
	if err == nil || !strings.Contains(err.Error(), "WIJKBRUG_IDEMPOTENCY_RETENTION") {
		t.Fatalf("1h: %v, want an error naming the setting", err)
	}
}

// Settings that would otherwise be taken silently are refused at start, naming the variable:
// a log level nobody logs at, a negative number of consumer workers, and privacy officers that
// are not OINs (the production overlay's placeholder among them).
func TestMeaninglessSettingsAreRefused(t *testing.T) {
	for want, cfg := range map[string]Config{
		"WIJKBRUG_LOG_LEVEL":            {LogLevel: "verbose", AccessLogKeyID: 1},
		"WIJKBRUG_CONSUMER_WORKERS":     {ConsumerWorkers: -3, AccessLogKeyID: 1},
		"WIJKBRUG_PRIVACY_OFFICER_OINS": {PrivacyOfficerOINs: "set-in-your-overlay:oins-of-the-privacy-officers", AccessLogKeyID: 1},
	} {
		err := Run(t.Context(), Spec{Name: "test"}, cfg, Hooks{LogOutput: io.Discard})
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: %v, want an error naming it", want, err)
		}
	}
	for _, l := range []string{"", "debug", "INFO", "warn", "error"} {
		if _, err := parseLevel(l); err != nil {
			t.Errorf("log level %q: %v", l, err)
		}
	}
}

// A call-duration cap above two minutes is refused at start: case-direction takes an attached
// allocation that no event confirmed as rolled back after five minutes, which holds only while
// no call (and so no transaction of one) can last that long.
func TestCallCapAboveTwoMinutesIsRefused(t *testing.T) {
	for _, d := range []time.Duration{0, -time.Second, 30 * time.Second, MaxCallCap} {
		if err := checkCallCap(d); err != nil {
			t.Errorf("%s: %v, want accepted", d, err)
		}
	}
	err := checkCallCap(MaxCallCap + time.Second)
	if err == nil || !strings.Contains(err.Error(), "WIJKBRUG_MAX_CALL_DURATION") {
		t.Fatalf("2m1s: %v, want an error naming the setting", err)
	}
	if MaxCallCap >= 5*time.Minute {
		t.Fatal("the cap must stay below case-direction's five minutes for a pending allocation")
	}
}

// A consumer or scheduler acts under one of the services' own entries in the register of
// processing activities; a service built with any other purpose stops where it is composed.
func TestSystemCallerNeedsAServicesActivity(t *testing.T) {
	p := &Platform{Self: identity.Organisation{OIN: "00000099000000000001", Name: "wijkbrug-intake", Type: identity.OrgService}}
	if c := p.SystemCaller("signal-intake"); c.Purpose != "signal-intake" || c.Role != "system" || c.Org != p.Self {
		t.Fatalf("system caller: %+v", c)
	}
	for _, purpose := range []string{"housekeeping", "signal", ""} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "register of processing activities") {
					t.Errorf("SystemCaller(%q): recovered %v, want a panic naming the register", purpose, r)
				}
			}()
			p.SystemCaller(purpose)
		}()
	}
}
