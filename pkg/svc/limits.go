package svc

import (
	"errors"
	"fmt"
	"time"
)

// MaxStreamReplicas is the most replicas JetStream gives a stream.
const MaxStreamReplicas = 5

// DefaultConsumerLinger is WIJKBRUG_CONSUMER_LINGER's default (the Config field's tag says the
// same, which TestConsumerLingerDefault holds).
const DefaultConsumerLinger = 20 * time.Millisecond

// MaxConsumerLinger is the longest a consumer worker may wait for events to join a batch: the
// linger delays every event of a steady trickle by up to that long.
const MaxConsumerLinger = time.Second

// checkLimits refuses settings no value of which means anything: a negative count, rate or
// duration, and stream replicas JetStream does not offer. They had been accepted without a
// word: a negative retention kept rows for ever, a negative batch was the default, seven
// replicas retried the stream's declaration for ever while the service reported ready. A zero
// keeps the meaning each setting's description gives. All problems are named at once.
func checkLimits(cfg Config) error {
	var errs []error
	count := func(env, flag string, v int) {
		if v < 0 {
			errs = append(errs, fmt.Errorf("%s (-%s) is %d: not negative", env, flag, v))
		}
	}
	duration := func(env, flag string, d time.Duration) {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%s (-%s) is %s: not negative", env, flag, d))
		}
	}
	count("WIJKBRUG_DATABASE_MAX_CONNS", "database-max-conns", cfg.DatabaseConns)
	count("WIJKBRUG_CONSUMER_BATCH", "consumer-batch", cfg.ConsumerBatch)
	count("WIJKBRUG_RATE_LIMIT", "rate-limit", cfg.RateLimit)
	count("WIJKBRUG_RATE_BURST", "rate-burst", cfg.RateBurst)
	count("WIJKBRUG_USER_RATE_LIMIT", "user-rate-limit", cfg.UserRateLimit)
	count("WIJKBRUG_USER_RATE_BURST", "user-rate-burst", cfg.UserRateBurst)
	duration("WIJKBRUG_MAX_CALL_DURATION", "max-call-duration", cfg.MaxCallDuration)
	duration("WIJKBRUG_SHUTDOWN_GRACE", "shutdown-grace", cfg.ShutdownGrace)
	duration("WIJKBRUG_ACCESSLOG_CHECKPOINT_INTERVAL", "accesslog-checkpoint-interval", cfg.CheckpointInterval)
	duration("WIJKBRUG_OUTBOX_RETENTION", "outbox-retention", cfg.OutboxRetention)
	duration("WIJKBRUG_IDEMPOTENCY_RETENTION", "idempotency-retention", cfg.IdempotencyRetention)
	if r := cfg.StreamReplicas; r < 0 || r > MaxStreamReplicas {
		errs = append(errs, fmt.Errorf("WIJKBRUG_STREAM_REPLICAS (-stream-replicas) is %d: 1 to %d (JetStream's most; 3 in production), 0 = 1", r, MaxStreamReplicas))
	}
	if id := cfg.BSNEncryptionKeyID; id < 0 || id > 255 {
		errs = append(errs, fmt.Errorf("WIJKBRUG_BSN_ENCRYPTION_KEY_ID (-bsn-encryption-key-id) is %d: 1-255", id))
	}
	if id := cfg.AccessLogKeyID; id < 1 || id > 255 {
		errs = append(errs, fmt.Errorf("WIJKBRUG_ACCESSLOG_KEY_ID (-accesslog-key-id) is %d: 1-255", id))
	}
	if d := cfg.ConsumerLinger; d < 0 || d > MaxConsumerLinger {
		errs = append(errs, fmt.Errorf("WIJKBRUG_CONSUMER_LINGER (-consumer-linger) is %s: 0 (never waits) to %s", d, MaxConsumerLinger))
	}
	if cfg.ConsumerWorkers < 0 {
		errs = append(errs, fmt.Errorf("WIJKBRUG_CONSUMER_WORKERS (-consumer-workers) is %d: 0 (one for every two CPUs) or more", cfg.ConsumerWorkers))
	}
	return errors.Join(errs...)
}
