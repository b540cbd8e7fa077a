package svc

import (
	"os"
	"strings"
	"testing"

	"github.com/wijkbrug/wijkbrug/pkg/config"
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
