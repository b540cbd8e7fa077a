package natsx_test

import (
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
)

func TestServerTooOld(t *testing.T) {
	for v, want := range map[string]bool{
		"2.15.2": true, "2.9.25": true, "2.14.10": true, "1.99.99": true, "": true, "2.15": true, "next": true, "2.15.3-RC.1": true,
		"2.15.3": false, "2.15.10": false, "2.16.0": false, "2.16.0-RC.1": false, "v2.15.3": false, "3.0.0": false,
	} {
		if got := natsx.ServerTooOld(v); got != want {
			t.Errorf("ServerTooOld(%q) = %v, want %v", v, got, want)
		}
	}
	// The suite's own broker (make run, the tests) is never too old.
	if natsx.ServerTooOld(server.VERSION) {
		t.Errorf("the embedded nats-server %s is older than %s", server.VERSION, natsx.MinServerVersion)
	}
}
