package pool

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ParseURL reads a Redis URL into a Config:
//
//	redis://[user:password@]host[:port][/db][?option=value…]
//	rediss://…            (TLS, server name checked; insecure_skip_verify=true to skip)
//	unix://[user:password@]/path/to/redis.sock[?db=N&…]
//
// Options: dial_timeout, pool_size, min_idle, max_idle, max_idle_time,
// max_lifetime, pool_timeout (durations like 5s), protocol (2 or 3),
// client_name, db (unix only), insecure_skip_verify (rediss only). An
// unknown option is an error. The port defaults to 6379.
func ParseURL(raw string) (Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Config{}, fmt.Errorf("pool: parse url: %w", redactURLError(err))
	}
	var c Config
	switch u.Scheme {
	case "redis", "rediss":
		c.Network = "tcp"
		host := u.Hostname()
		if host == "" {
			host = "127.0.0.1"
		}
		port := u.Port()
		if port == "" {
			port = "6379"
		}
		c.Addr = net.JoinHostPort(host, port)
		if p := strings.Trim(u.Path, "/"); p != "" {
			db, err := strconv.Atoi(p)
			if err != nil || db < 0 {
				return Config{}, fmt.Errorf("pool: url: database %q is not a non-negative number", p)
			}
			c.DB = db
		}
		if u.Scheme == "rediss" {
			c.TLS = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		}
	case "unix":
		c.Network = "unix"
		c.Addr = u.Path
		if c.Addr == "" {
			return Config{}, errors.New("pool: url: unix socket path is empty")
		}
	default:
		return Config{}, fmt.Errorf("pool: url: scheme %q: want redis, rediss or unix", u.Scheme)
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
		if _, hasPass := u.User.Password(); !hasPass {
			// redis://secret@host: a lone user part is the password, as
			// in redis-cli and redis-py.
			c.Password, c.Username = c.Username, ""
		}
	}
	var errs []error
	for key, vals := range u.Query() {
		v := vals[len(vals)-1]
		dur := func(dst *time.Duration) {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				errs = append(errs, fmt.Errorf("pool: url: %s=%q is not a duration", key, v))
				return
			}
			*dst = d
		}
		num := func(dst *int) {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				errs = append(errs, fmt.Errorf("pool: url: %s=%q is not a non-negative integer", key, v))
				return
			}
			*dst = n
		}
		switch key {
		case "dial_timeout":
			dur(&c.DialTimeout)
		case "pool_timeout":
			dur(&c.PoolTimeout)
		case "max_idle_time":
			dur(&c.MaxIdleTime)
		case "max_lifetime":
			dur(&c.MaxLifetime)
		case "pool_size":
			num(&c.PoolSize)
		case "min_idle":
			num(&c.MinIdle)
		case "max_idle":
			num(&c.MaxIdle)
		case "protocol":
			num(&c.Protocol)
		case "db":
			num(&c.DB)
		case "client_name":
			c.ClientName = v
		case "insecure_skip_verify":
			b, err := strconv.ParseBool(v)
			if err != nil || c.TLS == nil {
				errs = append(errs, fmt.Errorf("pool: url: insecure_skip_verify needs rediss:// and a boolean"))
				continue
			}
			c.TLS.InsecureSkipVerify = b
		default:
			errs = append(errs, fmt.Errorf("pool: url: unknown option %q", key))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}
	return c, c.Validate()
}

// redactURLError drops the URL (which may hold a password) from a parse
// error.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
