package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-playground/validator/v10"
	"gopkg.in/yaml.v3"
)

// Config is the gateway's whole configuration. It is read from a YAML file
// (GATEWAY_CONFIG / --config), then environment variables, then flags; each
// later source overrides the earlier. Every field's default is in options.
type Config struct {
	Addr           string                       `yaml:"addr" validate:"required,listenaddr"`
	RedisURL       string                       `yaml:"redis_url" validate:"omitempty,redisurl"`
	Databases      int                          `yaml:"databases" validate:"gte=0,lte=10000"`
	NamedDatabases map[string]NamedDatabase     `yaml:"named_databases" validate:"dive,keys,dbname,endkeys"`
	Callbacks      map[string]map[string]string `yaml:"callbacks"`
	Pool           PoolConfig                   `yaml:",inline"`
	MaxBlocking    int                          `yaml:"max_blocking" validate:"gte=1,lte=10000"`
	AutoPipeline   bool                         `yaml:"auto_pipeline"`
	// AutoPipelineConns is the number of shared connections per database.
	AutoPipelineConns int           `yaml:"auto_pipeline_conns" validate:"gte=1,lte=64"`
	CommandTimeout    time.Duration `yaml:"command_timeout" validate:"gt=0"`
	BodyLimit         int64         `yaml:"body_limit" validate:"gte=1024"`
	MaxPipeline       int           `yaml:"max_pipeline" validate:"gte=1,lte=100000"`
	CORSOrigins       []string      `yaml:"cors_origins" validate:"dive,required"`
	AllowedHosts      []string      `yaml:"allowed_hosts" validate:"dive,required"`
	TLSCert           string        `yaml:"tls_cert" validate:"required_with=TLSKey"`
	TLSKey            string        `yaml:"tls_key" validate:"required_with=TLSCert"`
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout" validate:"gt=0"`
	ReadTimeout       time.Duration `yaml:"read_timeout" validate:"gte=0"`
	WriteTimeout      time.Duration `yaml:"write_timeout" validate:"gte=0"`
	IdleTimeout       time.Duration `yaml:"idle_timeout" validate:"gte=0"`
	ShutdownTimeout   time.Duration `yaml:"shutdown_timeout" validate:"gt=0"`
	ShutdownDrain     time.Duration `yaml:"shutdown_drain" validate:"gte=0"`
	LogLevel          string        `yaml:"log_level" validate:"oneof=debug info warn error"`
	LogFormat         string        `yaml:"log_format" validate:"oneof=json text"`
	PprofAddr         string        `yaml:"pprof_addr" validate:"omitempty,hostname_port"`
	MetricsAddr       string        `yaml:"metrics_addr" validate:"omitempty,hostname_port"`
	InsecureNoAuth    bool          `yaml:"insecure_no_auth"`
	Tokens            []TokenConfig `yaml:"tokens" validate:"dive"`
	DangerousCommands []string      `yaml:"dangerous_commands"`
	SubscriberBuffer  int           `yaml:"subscriber_buffer" validate:"gte=1,lte=1000000"`
	MaxStreamTails    int           `yaml:"max_stream_tails" validate:"gte=1,lte=100000"`
	// MaxBlockingPerToken bounds one non-admin token's concurrent blocking
	// commands per database; 0 means half of max_stream_tails.
	MaxBlockingPerToken int           `yaml:"max_blocking_per_token" validate:"gte=0,lte=100000"`
	Heartbeat           time.Duration `yaml:"heartbeat" validate:"gt=0"`
	// SignedTokenSecret (HS256, at least 32 bytes) and SignedTokenJWKS (a
	// file of public keys) turn on signed tokens; see docs/security.md.
	SignedTokenSecret      string        `yaml:"signed_token_secret" validate:"omitempty,min=32"`
	SignedTokenJWKS        string        `yaml:"signed_token_jwks" validate:"omitempty,file"`
	SignedTokenAudience    string        `yaml:"signed_token_audience" validate:"required"`
	SignedTokenMaxLifetime time.Duration `yaml:"signed_token_max_lifetime" validate:"gt=0"`
	UpstashPrefix          string        `yaml:"upstash_prefix" validate:"required"`
	// SyncWait bounds a read-your-writes read's wait for a replica.
	SyncWait time.Duration `yaml:"sync_wait" validate:"gt=0"`
	// IdempotencyTTL is how long a response to a request with an
	// Idempotency-Key is kept for retries; IdempotencySecret seals the
	// kept responses (default: each database's Redis credentials).
	IdempotencyTTL    time.Duration `yaml:"idempotency_ttl" validate:"gt=0"`
	IdempotencySecret string        `yaml:"idempotency_secret"`
	// GCHeadroomMiB is the garbage collector's least headroom
	// (internal/gcheadroom) when the environment sets no GOGC; 0 turns it
	// off.
	GCHeadroomMiB int `yaml:"gc_headroom_mib" validate:"gte=0,lte=65536"`
}

// TokenConfig is one bearer token in the configuration file.
type TokenConfig struct {
	Name string `yaml:"name" validate:"required"`
	// Token is the secret itself; or give TokenSHA256, the hex SHA-256 of
	// the secret, to keep the secret out of the file.
	Token       string `yaml:"token" validate:"required_without=TokenSHA256,excluded_with=TokenSHA256"`
	TokenSHA256 string `yaml:"token_sha256" validate:"omitempty,len=64,hexadecimal"`
	// Databases may be left out for a metrics token, which reaches no
	// database.
	Databases []string `yaml:"databases" validate:"required_unless=Level metrics"`
	Level     string   `yaml:"level" validate:"oneof=read write admin metrics"`
	// RateLimit is requests per second (0: unlimited); Burst the excess
	// allowed at once.
	RateLimit float64 `yaml:"rate_limit" validate:"gte=0"`
	Burst     int     `yaml:"burst" validate:"gte=0"`
	// Keys and Channels limit a read or write token to glob patterns of
	// keys and channels, enforced by Redis (the scope's ACL user).
	Keys     []string `yaml:"keys" validate:"omitempty,dive,required"`
	Channels []string `yaml:"channels" validate:"omitempty,dive,required"`
	// RedisUser and RedisPassword name a pre-created ACL user for the
	// token, when the gateway's identity may not create users.
	RedisUser     string `yaml:"redis_user"`
	RedisPassword string `yaml:"redis_password"`
	// Mint lets the token call POST /tokens for narrower signed tokens.
	Mint bool `yaml:"mint"`
}

// NamedDatabase is an extra database with its own URL (and so its own
// server, database number and pool).
type NamedDatabase struct {
	URL       string            `yaml:"url" validate:"required,redisurl"`
	Callbacks map[string]string `yaml:"callbacks"`
	// AutoPipeline overrides the global auto_pipeline for this database.
	AutoPipeline *bool `yaml:"auto_pipeline"`
}

// PoolConfig holds the pool settings shared by every database. Its keys
// sit at the top level of the YAML file, like every other setting's: the
// key is the flag's name with underscores (pool_size for --pool-size).
type PoolConfig struct {
	Size        int           `yaml:"pool_size" validate:"gte=0,lte=100000"`
	MinIdle     int           `yaml:"pool_min_idle" validate:"gte=0"`
	Timeout     time.Duration `yaml:"pool_timeout" validate:"gte=0"`
	IdleTime    time.Duration `yaml:"pool_idle_time" validate:"gte=0"`
	MaxLifetime time.Duration `yaml:"pool_max_lifetime" validate:"gte=0"`
	DialTimeout time.Duration `yaml:"dial_timeout" validate:"gte=0"`
}

// option is one setting with its environment variable, flag and default.
// The table drives env and flag parsing, --help and the README table.
type option struct {
	env, flag, def, help string
	set                  func(c *Config, v string) error
}

// yamlKey is the option's key in the YAML file: its flag's name with
// underscores (TestYAMLKeysMatchFlags holds the struct to it).
func (o option) yamlKey() string { return strings.ReplaceAll(o.flag, "-", "_") }

func str(p func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *p(c) = v; return nil }
}

func integer(p func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("not an integer: %q", v)
		}
		*p(c) = n
		return nil
	}
}

func dur(p func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("not a duration (like 5s or 250ms): %q", v)
		}
		*p(c) = d
		return nil
	}
}

// list reads a comma-separated list; empty items are dropped.
func list(p func(*Config) *[]string) func(*Config, string) error {
	return func(c *Config, v string) error {
		*p(c) = nil
		for _, item := range strings.Split(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				*p(c) = append(*p(c), item)
			}
		}
		return nil
	}
}

func boolean(p func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("not a boolean: %q", v)
		}
		*p(c) = b
		return nil
	}
}

// options lists every setting. GATEWAY_CONFIG/--config is handled apart.
var options = []option{
	{"GATEWAY_ADDR", "addr", "127.0.0.1:8080", "listen address (host:port)", str(func(c *Config) *string { return &c.Addr })},
	{"REDIS_URL", "redis-url", "", "Redis behind the numbered databases (redis://, rediss://, unix://, redis+cluster://, redis+sentinel://); empty: embedded in-memory Redis", str(func(c *Config) *string { return &c.RedisURL })},
	{"GATEWAY_DATABASES", "databases", "16", "number of numbered databases /db/0…/db/N-1", integer(func(c *Config) *int { return &c.Databases })},
	{"GATEWAY_POOL_SIZE", "pool-size", "0", "connections per database pool (0: 10 × GOMAXPROCS)", integer(func(c *Config) *int { return &c.Pool.Size })},
	{"GATEWAY_POOL_MIN_IDLE", "pool-min-idle", "0", "idle connections kept open per database", integer(func(c *Config) *int { return &c.Pool.MinIdle })},
	{"GATEWAY_POOL_TIMEOUT", "pool-timeout", "3s", "how long a request waits for a free connection (then 503 POOL_TIMEOUT)", dur(func(c *Config) *time.Duration { return &c.Pool.Timeout })},
	{"GATEWAY_POOL_IDLE_TIME", "pool-idle-time", "30m", "close connections idle this long", dur(func(c *Config) *time.Duration { return &c.Pool.IdleTime })},
	{"GATEWAY_POOL_MAX_LIFETIME", "pool-max-lifetime", "0s", "close connections this old (0: never)", dur(func(c *Config) *time.Duration { return &c.Pool.MaxLifetime })},
	{"GATEWAY_DIAL_TIMEOUT", "dial-timeout", "5s", "dial and handshake timeout", dur(func(c *Config) *time.Duration { return &c.Pool.DialTimeout })},
	{"GATEWAY_MAX_BLOCKING", "max-blocking", "16", "blocking commands (BLPOP, XREAD BLOCK…) in flight per database", integer(func(c *Config) *int { return &c.MaxBlocking })},
	{"GATEWAY_AUTO_PIPELINE", "auto-pipeline", "true", "under concurrent load, send single commands over 2 shared connections per database, many per write (adaptive; see docs/architecture.md)", boolean(func(c *Config) *bool { return &c.AutoPipeline })},
	{"GATEWAY_AUTO_PIPELINE_CONNS", "auto-pipeline-conns", "2", "shared auto-pipelined connections per database (each keeps one batch in flight; the first takes every command until 32 wait for it, the others the overflow)", integer(func(c *Config) *int { return &c.AutoPipelineConns })},
	{"GATEWAY_COMMAND_TIMEOUT", "command-timeout", "5s", "per-command timeout (504 past it); blocking commands add their own timeout", dur(func(c *Config) *time.Duration { return &c.CommandTimeout })},
	{"GATEWAY_BODY_LIMIT", "body-limit", "8388608", "largest request body in bytes (413 past it)", func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("not an integer: %q", v)
		}
		c.BodyLimit = n
		return nil
	}},
	{"GATEWAY_MAX_PIPELINE", "max-pipeline", "1000", "most commands in one pipeline or transaction", integer(func(c *Config) *int { return &c.MaxPipeline })},
	{"GATEWAY_CORS_ORIGINS", "cors-origins", "", "comma-separated origins allowed by CORS (* for any; empty: none)", list(func(c *Config) *[]string { return &c.CORSOrigins })},
	{"GATEWAY_ALLOWED_HOSTS", "allowed-hosts", "", "comma-separated Host names (or name:port) answered besides loopback names; others get 403 FORBIDDEN_HOST (enforced without tokens, and with tokens once set)", list(func(c *Config) *[]string { return &c.AllowedHosts })},
	{"GATEWAY_TLS_CERT", "tls-cert", "", "TLS certificate file (serves HTTPS with --tls-key)", str(func(c *Config) *string { return &c.TLSCert })},
	{"GATEWAY_TLS_KEY", "tls-key", "", "TLS private key file", str(func(c *Config) *string { return &c.TLSKey })},
	{"GATEWAY_READ_HEADER_TIMEOUT", "read-header-timeout", "5s", "time to read request headers (slowloris guard)", dur(func(c *Config) *time.Duration { return &c.ReadHeaderTimeout })},
	{"GATEWAY_READ_TIMEOUT", "read-timeout", "30s", "time to read a whole request (0: none)", dur(func(c *Config) *time.Duration { return &c.ReadTimeout })},
	{"GATEWAY_WRITE_TIMEOUT", "write-timeout", "0s", "time to write a response (0: none, needed for event streams)", dur(func(c *Config) *time.Duration { return &c.WriteTimeout })},
	{"GATEWAY_IDLE_TIMEOUT", "idle-timeout", "120s", "keep-alive idle timeout", dur(func(c *Config) *time.Duration { return &c.IdleTimeout })},
	{"GATEWAY_SHUTDOWN_TIMEOUT", "shutdown-timeout", "15s", "how long in-flight requests may finish on SIGTERM", dur(func(c *Config) *time.Duration { return &c.ShutdownTimeout })},
	{"GATEWAY_SHUTDOWN_DRAIN", "shutdown-drain", "300ms", "on SIGTERM, keep serving this long with Connection: close before shutting down, so requests on idle keep-alive connections are not lost (0: none)", dur(func(c *Config) *time.Duration { return &c.ShutdownDrain })},
	{"GATEWAY_LOG_LEVEL", "log-level", "info", "debug, info, warn or error", str(func(c *Config) *string { return &c.LogLevel })},
	{"GATEWAY_LOG_FORMAT", "log-format", "json", "json or text", str(func(c *Config) *string { return &c.LogFormat })},
	{"GATEWAY_PPROF_ADDR", "pprof-addr", "", "serve net/http/pprof on this separate address (keep it on loopback); empty: off", str(func(c *Config) *string { return &c.PprofAddr })},
	{"GATEWAY_METRICS_ADDR", "metrics-addr", "", "serve /metrics (and pprof, when pprof_addr is the same address) on this separate address, and not on addr; empty: /metrics on addr", str(func(c *Config) *string { return &c.MetricsAddr })},
	{"GATEWAY_SUBSCRIBER_BUFFER", "subscriber-buffer", "256", "messages queued per real-time subscriber before it is sent a lagged event", integer(func(c *Config) *int { return &c.SubscriberBuffer })},
	{"GATEWAY_MAX_BLOCKING_PER_TOKEN", "max-blocking-per-token", "0", "concurrent blocking commands (BLPOP, XREAD BLOCK, stream tails) of one non-admin token per database; 0: half of max-stream-tails", integer(func(c *Config) *int { return &c.MaxBlockingPerToken })},
	{"GATEWAY_MAX_STREAM_TAILS", "max-stream-tails", "16", "concurrent stream tails (SSE) per database (503 past it)", integer(func(c *Config) *int { return &c.MaxStreamTails })},
	{"GATEWAY_HEARTBEAT", "heartbeat", "15s", "keep-alive interval of event streams and WebSockets", dur(func(c *Config) *time.Duration { return &c.Heartbeat })},
	{"GATEWAY_SYNC_WAIT", "sync-wait", "50ms", "how long a read with a sync token waits for a replica to catch up before the primary answers (read_from_replicas only)", dur(func(c *Config) *time.Duration { return &c.SyncWait })},
	{"GATEWAY_UPSTASH_PREFIX", "upstash-prefix", "/upstash", "mount point of the Upstash-compatible REST surface (prefix/{db}); off disables it", str(func(c *Config) *string { return &c.UpstashPrefix })},
	{"GATEWAY_IDEMPOTENCY_TTL", "idempotency-ttl", "24h", "how long the response to a request with an Idempotency-Key is kept for its retries", dur(func(c *Config) *time.Duration { return &c.IdempotencyTTL })},
	{"GATEWAY_IDEMPOTENCY_SECRET", "idempotency-secret", "", "seals kept Idempotency-Key responses in Redis (same on every gateway of a Redis; empty: the database's Redis credentials)", str(func(c *Config) *string { return &c.IdempotencySecret })},
	{"GATEWAY_SIGNED_TOKEN_SECRET", "signed-token-secret", "", "HS256 secret (32+ bytes) that verifies and mints signed tokens (JWTs); empty: off", str(func(c *Config) *string { return &c.SignedTokenSecret })},
	{"GATEWAY_SIGNED_TOKEN_JWKS", "signed-token-jwks", "", "JWKS file of public keys (EdDSA, ES256, RS256) that verifies signed tokens issued elsewhere", str(func(c *Config) *string { return &c.SignedTokenJWKS })},
	{"GATEWAY_SIGNED_TOKEN_AUDIENCE", "signed-token-audience", "redis-gateway", "aud every signed token must carry", str(func(c *Config) *string { return &c.SignedTokenAudience })},
	{"GATEWAY_SIGNED_TOKEN_MAX_LIFETIME", "signed-token-max-lifetime", "1h", "longest lifetime of a signed token (exp - iat)", dur(func(c *Config) *time.Duration { return &c.SignedTokenMaxLifetime })},
	{"GATEWAY_GC_HEADROOM_MIB", "gc-headroom-mib", "32", "the garbage collector lets the heap grow at least this many MiB past the live heap before a cycle (GOGC=100 alone: as much as the live heap); less GC CPU under load for at most this much memory; off when GOGC is set; 0: off", integer(func(c *Config) *int { return &c.GCHeadroomMiB })},
	{"GATEWAY_INSECURE_NO_AUTH", "insecure-no-auth", "false", "allow listening on a non-loopback address without tokens", boolean(func(c *Config) *bool { return &c.InsecureNoAuth })},
}

// defaults returns the configuration before any source is applied.
func defaults() Config {
	var c Config
	for _, o := range options {
		if err := o.set(&c, o.def); err != nil {
			panic(fmt.Sprintf("option %s: bad default: %v", o.flag, err)) // programming error
		}
	}
	return c
}

// loadFile applies a YAML file over c. Unknown keys are errors.
func loadFile(c *Config, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			msgs := make([]string, len(te.Errors))
			for i, m := range te.Errors {
				msgs[i] = unknownKey(m)
			}
			return fmt.Errorf("config: %s:\n%s", path, strings.Join(msgs, "\n"))
		}
		return fmt.Errorf("config: %s: %w", path, err)
	}
	return nil
}

// unknownYAMLKey matches yaml.v3's message for a key no field has.
var unknownYAMLKey = regexp.MustCompile(`^(line \d+): field (\S+) not found in type main\.(\w+)$`)

// unknownKey rewrites yaml.v3's "line 3: field pool_sizee not found in
// type main.Config" as a sentence naming the nearest known key.
func unknownKey(msg string) string {
	m := unknownYAMLKey.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	var t reflect.Type
	switch m[3] {
	case "Config":
		t = reflect.TypeOf(Config{})
	case "TokenConfig":
		t = reflect.TypeOf(TokenConfig{})
	case "NamedDatabase":
		t = reflect.TypeOf(NamedDatabase{})
	default:
		return msg
	}
	if m[2] == "pool" && m[3] == "Config" {
		return m[1] + ": unknown key pool: the pool settings are top-level keys, named like their flags: pool_size, pool_min_idle, pool_timeout, pool_idle_time, pool_max_lifetime, dial_timeout"
	}
	if best, ok := nearest(m[2], yamlKeys(t)); ok {
		return fmt.Sprintf("%s: unknown key %s: did you mean %s?", m[1], m[2], best)
	}
	return fmt.Sprintf("%s: unknown key %s (README.md, Configuration, lists every key)", m[1], m[2])
}

// yamlKeys lists the YAML keys of struct type t, inlined structs' keys
// included.
func yamlKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if opts == "inline" {
			keys = append(keys, yamlKeys(f.Type)...)
			continue
		}
		if name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	return keys
}

var configValidator = func() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(yamlName)
	_ = v.RegisterValidation("redisurl", func(fl validator.FieldLevel) bool {
		s := fl.Field().String()
		return strings.HasPrefix(s, "redis://") || strings.HasPrefix(s, "rediss://") || strings.HasPrefix(s, "unix://") ||
			strings.HasPrefix(s, "redis+cluster://") || strings.HasPrefix(s, "redis+sentinel://")
	})
	_ = v.RegisterValidation("listenaddr", func(fl validator.FieldLevel) bool {
		_, port, err := net.SplitHostPort(fl.Field().String())
		if err != nil {
			return false
		}
		n, err := strconv.Atoi(port)
		return err == nil && n >= 0 && n <= 65535
	})
	_ = v.RegisterValidation("dbname", func(fl validator.FieldLevel) bool {
		s := fl.Field().String()
		if s == "" || len(s) > 64 {
			return false
		}
		for _, c := range s {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
		return true
	})
	return v
}()

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	if err := configValidator.Struct(c); err != nil {
		var verrs validator.ValidationErrors
		if errors.As(err, &verrs) {
			for _, fe := range verrs {
				errs = append(errs, errors.New(describe(fe)))
			}
		} else {
			errs = append(errs, err)
		}
	}
	for name := range c.NamedDatabases {
		if _, err := strconv.Atoi(name); err == nil {
			errs = append(errs, fmt.Errorf("named_databases.%s: a named database cannot be a number (numbers are the numbered databases)", name))
		}
	}
	if c.Databases == 0 && len(c.NamedDatabases) == 0 {
		errs = append(errs, errors.New("databases is 0 and no named_databases are configured, so nothing would be served: set databases to at least 1 (the default is 16)"))
	}
	if len(c.Tokens) == 0 && c.SignedTokenSecret == "" && c.SignedTokenJWKS == "" && !c.InsecureNoAuth && !isLoopback(c.Addr) {
		errs = append(errs, fmt.Errorf("addr: %s is not a loopback address and no tokens are configured; set tokens or insecure_no_auth (GATEWAY_INSECURE_NO_AUTH=true)", c.Addr))
	}
	return errors.Join(errs...)
}

// describe writes one validation failure as a sentence that names the
// setting by its YAML key and says what it accepts.
func describe(fe validator.FieldError) string {
	name, param := fieldName(fe), fe.Param()
	got := fmt.Sprintf(" (got %v)", redactValue(fe))
	if d, ok := fe.Value().(time.Duration); ok {
		got = " (got " + d.String() + ")"
		if n, err := strconv.ParseInt(param, 10, 64); err == nil {
			param = time.Duration(n).String()
		}
	}
	switch fe.Tag() {
	case "required":
		return name + " must be set and not empty"
	case "gte":
		return name + " must be at least " + param + got
	case "gt":
		return name + " must be more than " + param + got
	case "lte":
		return name + " must be at most " + param + got
	case "min":
		return name + " must be at least " + param + " characters long"
	case "len":
		return name + " must be exactly " + param + " characters long"
	case "oneof":
		return name + " must be one of " + orList(strings.Fields(param)) + got
	case "hexadecimal":
		return name + " must be hexadecimal (the SHA-256 of the token, as sha256sum prints it)"
	case "redisurl":
		return name + " must be a Redis URL starting with " + orList([]string{"redis://", "rediss://", "unix://", "redis+cluster://", "redis+sentinel://"}) + got
	case "listenaddr":
		return name + " must be host:port with a port from 0 to 65535, such as 127.0.0.1:8080" + got
	case "hostname_port":
		return name + " must be host:port, such as 127.0.0.1:6060" + got
	case "dbname":
		return name + ": a database name is 1 to 64 letters, digits, - or _" + got
	case "file":
		return name + " must name a readable file" + got
	case "required_with":
		return name + " must be set together with " + yamlKeyOf(fe, param)
	case "required_without":
		return name + ": set it or " + yamlKeyOf(fe, param) + " (one of the two)"
	case "excluded_with":
		return name + ": set it or " + yamlKeyOf(fe, param) + ", not both"
	case "required_unless":
		return name + " must be set (only a metrics token may leave it out)"
	}
	return fmt.Sprintf("%s is not valid: rule %s%s", name, fe.Tag(), got)
}

// orList joins items as "a, b or c".
func orList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// yamlKeyOf names the sibling field param (a Go field name in a
// cross-field rule) by its YAML key: tokens[0].token_sha256 for
// TokenSHA256 next to tokens[0].token.
func yamlKeyOf(fe validator.FieldError, param string) string {
	field, _, _ := strings.Cut(param, " ")
	key := field
	for _, t := range []reflect.Type{reflect.TypeOf(Config{}), reflect.TypeOf(TokenConfig{}), reflect.TypeOf(PoolConfig{}), reflect.TypeOf(NamedDatabase{})} {
		if f, ok := t.FieldByName(field); ok {
			key = yamlName(f)
			break
		}
	}
	name := fieldName(fe)
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[:i+1] + key
	}
	return key
}

// redactValue hides URLs (they may hold passwords) in error messages.
func redactValue(fe validator.FieldError) any {
	if s, ok := fe.Value().(string); ok {
		if strings.Contains(s, "://") {
			return "a URL, not shown"
		}
		return strconv.Quote(s)
	}
	return fe.Value()
}

// fieldName is the failing setting's YAML path (tokens[0].token): the
// namespace without the type's name and without inlined structs (pool).
func fieldName(fe validator.FieldError) string {
	parts := strings.Split(fe.Namespace(), ".")[1:]
	out := parts[:0]
	for _, p := range parts {
		if p != "" && p[0] >= 'A' && p[0] <= 'Z' {
			continue // an inlined struct: its keys are top-level
		}
		out = append(out, p)
	}
	return strings.Join(out, ".")
}

// isLoopback reports whether a listen address only accepts local
// connections.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// yamlName reports a struct field by its YAML key in validation errors.
func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "" || name == "-" {
		return f.Name
	}
	return name
}
