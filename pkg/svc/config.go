package svc

import "time"

// Config is the platform configuration every service shares. Each service binary reads it from
// WIJKBRUG_* environment variables or the matching flags; the all-in-one command fills it in
// code.
type Config struct {
	GRPCAddr  string `env:"WIJKBRUG_GRPC_ADDR" flag:"grpc-addr" usage:"gRPC listen address (mutual TLS); empty = the service's default port"`
	RESTAddr  string `env:"WIJKBRUG_REST_ADDR" flag:"rest-addr" usage:"REST/JSON listen address (mutual TLS, same identity, policy and errors as gRPC); empty = the service's default port, off = no REST edge"`
	AdminAddr string `env:"WIJKBRUG_ADMIN_ADDR" flag:"admin-addr" usage:"admin HTTP address (/metrics, /debug/pprof, /livez, /readyz; plain HTTP); empty = the service's default port (:9091-:9094, all interfaces)"`

	DatabaseURL     string        `env:"WIJKBRUG_DATABASE_URL" flag:"database-url" secret:"true" usage:"PostgreSQL URL of the service's own database"`
	DatabaseConns   int           `env:"WIJKBRUG_DATABASE_MAX_CONNS" flag:"database-max-conns" default:"16" usage:"maximum PostgreSQL connections in the pool (0 = pgx's default: 4 or the CPUs, whichever is more)"`
	ConsumerWorkers int           `env:"WIJKBRUG_CONSUMER_WORKERS" flag:"consumer-workers" default:"0" usage:"events of different aggregates each event consumer handles at once (events of one aggregate stay in order); each takes a database connection while it works; 0 = one for every two CPUs the process may use (GOMAXPROCS), at least one; more helps where handlers wait on peers and CPUs are free; a negative number is refused"`
	ConsumerBatch   int           `env:"WIJKBRUG_CONSUMER_BATCH" flag:"consumer-batch" default:"16" usage:"most events one consumer worker handles in one transaction when they wait for it (a backlog); one commit for them all; 1 = a transaction per event; 0 = 16"`
	ConsumerLinger  time.Duration `env:"WIJKBRUG_CONSUMER_LINGER" flag:"consumer-linger" default:"20ms" usage:"how long a consumer worker waits for more events to join a batch while events keep coming (its previous batch began less than twice this long before); a lone event after a quiet spell is handled at once; 0 = never waits; at most 1s"`
	MigrateOnStart  bool          `env:"WIJKBRUG_MIGRATE_ON_START" flag:"migrate-on-start" default:"false" usage:"apply migrations before serving (Kubernetes runs the migrate subcommand instead)"`
	// Least privilege (issue 16): migrations as the schema owner, the service as an application role.
	MigrationDatabaseURL string `env:"WIJKBRUG_MIGRATION_DATABASE_URL" flag:"migration-database-url" secret:"true" usage:"PostgreSQL URL as the schema owner, for migrate (empty = WIJKBRUG_DATABASE_URL)"`
	DatabaseAppRole      string `env:"WIJKBRUG_DATABASE_APP_ROLE" flag:"database-app-role" usage:"role the service runs as; migrate grants it its tables, never UPDATE/DELETE/TRUNCATE of the access log (empty = grant nothing)"`

	NATSURL        string `env:"WIJKBRUG_NATS_URL" flag:"nats-url" default:"tls://127.0.0.1:4222" usage:"NATS server URL (TLS 1.3; the service authenticates with its own certificate, WIJKBRUG_TLS_CERT)"`
	StreamReplicas int    `env:"WIJKBRUG_STREAM_REPLICAS" flag:"stream-replicas" default:"1" usage:"JetStream replicas of the service's stream (3 in production; 1 to 5, 0 = 1)"`

	TLSCert string `env:"WIJKBRUG_TLS_CERT" flag:"tls-cert" usage:"PEM certificate of this service (server and client; OU=SERVICE, serialNumber=OIN)"`
	TLSKey  string `env:"WIJKBRUG_TLS_KEY" flag:"tls-key" secret:"true" usage:"PEM private key of this service"`
	TLSCA   string `env:"WIJKBRUG_TLS_CA" flag:"tls-ca" usage:"PEM CA bundle that partner and service certificates must chain to"`

	TLSDenyList string `env:"WIJKBRUG_TLS_DENYLIST" flag:"tls-denylist" usage:"file of revoked certificates (lines serial:<hex>, plain or colon-separated, or oin:<OIN>; # comments), re-read every second; checked at the handshake and on every call"`

	RateLimit       int           `env:"WIJKBRUG_RATE_LIMIT" flag:"rate-limit" default:"2000" usage:"ceiling in requests per second of one calling organisation, all its users together, in each replica (the ceiling a partner meets is this times the replicas; 0 = none); over it: RESOURCE_EXHAUSTED"`
	RateBurst       int           `env:"WIJKBRUG_RATE_BURST" flag:"rate-burst" default:"4000" usage:"burst allowance per calling organisation, in each replica"`
	UserRateLimit   int           `env:"WIJKBRUG_USER_RATE_LIMIT" flag:"user-rate-limit" default:"50" usage:"requests per second of one acting user within an organisation, in each replica (0 = no limit); over it: RESOURCE_EXHAUSTED"`
	UserRateBurst   int           `env:"WIJKBRUG_USER_RATE_BURST" flag:"user-rate-burst" default:"100" usage:"burst allowance per acting user, in each replica"`
	MaxCallDuration time.Duration `env:"WIJKBRUG_MAX_CALL_DURATION" flag:"max-call-duration" default:"30s" usage:"cap on the deadline of every incoming call (at most 2m; 0 = 30s)"`

	BSNEncryptionKey   string `env:"WIJKBRUG_BSN_ENCRYPTION_KEY" flag:"bsn-encryption-key" secret:"true" usage:"base64 AES-256-GCM key (32 bytes; of a longer one the first 32) for BSNs and confidential text (or *_FILE); a key that does not open the values stored under its id is refused at start"`
	BSNEncryptionKeyID int    `env:"WIJKBRUG_BSN_ENCRYPTION_KEY_ID" flag:"bsn-encryption-key-id" default:"1" usage:"id (1-255; 0 = 1) of the current encryption key, stored with every ciphertext"`
	BSNPreviousKeys    string `env:"WIJKBRUG_BSN_PREVIOUS_KEYS" flag:"bsn-previous-keys" secret:"true" usage:"earlier encryption keys still needed to read old data: id:base64,id:base64"`
	BSNIndexKey        string `env:"WIJKBRUG_BSN_INDEX_KEY" flag:"bsn-index-key" secret:"true" usage:"base64 ≥32-byte HMAC key of the BSN blind index"`
	PseudonymKey       string `env:"WIJKBRUG_PSEUDONYM_KEY" flag:"pseudonym-key" secret:"true" usage:"base64 ≥32-byte HMAC key of resident pseudonyms (same in every service)"`

	AccessLogKey          string        `env:"WIJKBRUG_ACCESSLOG_KEY" flag:"accesslog-key" secret:"true" usage:"base64 ≥32-byte HMAC key of the access-log chain and its checkpoints (or *_FILE); the database never holds it"`
	AccessLogKeyID        int           `env:"WIJKBRUG_ACCESSLOG_KEY_ID" flag:"accesslog-key-id" default:"1" usage:"id (1-255) of the current access-log key, stored with every sealed entry"`
	AccessLogPreviousKeys string        `env:"WIJKBRUG_ACCESSLOG_PREVIOUS_KEYS" flag:"accesslog-previous-keys" secret:"true" usage:"earlier access-log keys, to verify entries sealed before a rotation: id:base64,id:base64"`
	CheckpointInterval    time.Duration `env:"WIJKBRUG_ACCESSLOG_CHECKPOINT_INTERVAL" flag:"accesslog-checkpoint-interval" default:"1m" usage:"how often a signed checkpoint of the access-log chain head is exported to JetStream (0 = 1m)"`

	OutboxRetention      time.Duration `env:"WIJKBRUG_OUTBOX_RETENTION" flag:"outbox-retention" default:"168h" usage:"how long an outbox row is kept once JetStream acknowledged it (the event stays in its stream for 365 days); older ones are deleted every 10 minutes, unpublished ones never; 0 = keep them"`
	IdempotencyRetention time.Duration `env:"WIJKBRUG_IDEMPOTENCY_RETENTION" flag:"idempotency-retention" default:"168h" usage:"how long a mutating call's idempotency key returns its first answer; after it the key and answer are deleted and the same key is a new request; at least 24h, or 0 = keep them"`

	IntakeAddr             string `env:"WIJKBRUG_INTAKE_ADDR" flag:"intake-addr" default:"127.0.0.1:50051" usage:"address of the intake service"`
	CaseDirectionAddr      string `env:"WIJKBRUG_CASEDIRECTION_ADDR" flag:"casedirection-addr" default:"127.0.0.1:50052" usage:"address of the case-direction service"`
	ProviderMonitoringAddr string `env:"WIJKBRUG_PROVIDERMONITORING_ADDR" flag:"providermonitoring-addr" default:"127.0.0.1:50053" usage:"address of the provider-monitoring service"`
	ReferralAddr           string `env:"WIJKBRUG_REFERRAL_ADDR" flag:"referral-addr" default:"127.0.0.1:50054" usage:"address of the referral service"`

	PrivacyOfficerOINs string `env:"WIJKBRUG_PRIVACY_OFFICER_OINS" flag:"privacy-officer-oins" usage:"comma-separated OINs of the organisations whose privacy officers may read access logs and emergency grants (the region's data-protection function); anything but 20-digit OINs is refused"`

	// Settings gives the service's own settings (Spec.Settings) by environment variable name,
	// winning over the environment, when a program embeds the service (the all-in-one
	// command, tests); a service binary reads them from its flags and environment.
	Settings map[string]string

	LogLevel      string        `env:"WIJKBRUG_LOG_LEVEL" flag:"log-level" default:"info" usage:"debug, info, warn or error (anything else is refused)"`
	ShutdownGrace time.Duration `env:"WIJKBRUG_SHUTDOWN_GRACE" flag:"shutdown-grace" default:"20s" usage:"time to drain in-flight calls on SIGTERM (0 = none)"`
}
