package testkit

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// WaitConsumerSettled waits (up to a minute) until the durable consumer on stream has nothing
// left to deliver and nothing unacknowledged: every event on the stream until now has been
// handled, since Wijkbrug's consumers acknowledge an event once it is. A test reads it before
// checking that handling the events changed nothing it should not (a fixed wait instead
// passes without checking anything when the consumer is slower than the wait). js needs
// CONSUMER.INFO on the stream (the operations observer has it).
func WaitConsumerSettled(t testing.TB, js jetstream.JetStream, stream, durable string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := js.Consumer(ctx, stream, durable)
		var info *jetstream.ConsumerInfo
		if err == nil {
			info, err = c.Info(ctx)
		}
		cancel()
		if err == nil && info.NumPending == 0 && info.NumAckPending == 0 {
			return
		}
		if time.Now().After(deadline) {
			if err != nil {
				t.Fatalf("testkit: consumer %s on %s: %v", durable, stream, err)
			}
			t.Fatalf("testkit: consumer %s on %s not settled within a minute: %d pending, %d unacknowledged", durable, stream, info.NumPending, info.NumAckPending)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
