package api

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
)

// hostPolicy decides which Host headers the gateway answers: loopback
// names always, plus the configured allowed hosts. A name without a port
// matches it on any port; "name:port" matches that port only.
type hostPolicy struct {
	names map[string]bool // lower-case host names and IPs, any port
	exact map[string]bool // lower-case "host:port"
}

func newHostPolicy(allowed []string) hostPolicy {
	p := hostPolicy{names: map[string]bool{}, exact: map[string]bool{}}
	for _, h := range allowed {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(h); err == nil {
			p.exact[h] = true
			continue
		}
		p.names[strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")] = true
	}
	return p
}

// allows reports whether a request's Host header is loopback or allowed.
func (p hostPolicy) allows(hostHeader string) bool {
	h := strings.ToLower(hostHeader)
	if p.exact[h] {
		return true
	}
	name := hostName(h)
	if name == "" {
		return false
	}
	return p.names[name] || loopbackName(name)
}

// hostName returns the name in a Host header value without its port and
// IPv6 brackets: "[::1]:80" → "::1", "a.b:80" → "a.b", "::1" → "::1".
// (net.SplitHostPort allocates for every Host without a port.)
func hostName(h string) string {
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 || (end+1 < len(h) && h[end+1] != ':') {
			return "" // malformed: refused
		}
		return h[1:end]
	}
	if i := strings.IndexByte(h, ':'); i >= 0 && strings.LastIndexByte(h, ':') == i {
		return h[:i] // exactly one colon: name:port
	}
	return h
}

// loopbackName reports localhost and the loopback addresses
// (127.0.0.0/8, ::1, and 127.x mapped into IPv6).
func loopbackName(name string) bool {
	if name == "localhost" || name == "localhost." {
		return true
	}
	a, err := netip.ParseAddr(name)
	return err == nil && a.Unmap().IsLoopback()
}

// trustedOrigins returns cors_origins as http.CrossOriginProtection takes
// them, or an error naming a malformed one. "*" is left out: it lets any
// site read replies with CORS, but never makes a cross-site request
// acceptable to an open gateway.
func trustedOrigins(origins []string) (*http.CrossOriginProtection, error) {
	cop := http.NewCrossOriginProtection()
	for _, o := range origins {
		o = strings.TrimRight(strings.TrimSpace(o), "/")
		if o == "*" || o == "" {
			continue
		}
		if err := cop.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("api: cors origin %q: %w", o, err)
		}
	}
	return cop, nil
}

// containment keeps a gateway that browsers can reach from being used by
// web pages it does not trust. It refuses, before any routing:
//
//   - a Host that is neither a loopback name nor in Config.AllowedHosts
//     (403 FORBIDDEN_HOST): a DNS-rebinding page reaches a loopback port
//     under its own name, and that name is what it sends. Enforced in open
//     mode (no tokens), and in every mode once AllowedHosts is set;
//   - in open mode only, a cross-site request of any method (403
//     CROSS_SITE): Sec-Fetch-Site cross-site or same-site, or an Origin
//     that is neither the gateway's own nor in Config.CORSOrigins. The
//     check is net/http's CrossOriginProtection, applied to GET and HEAD
//     too because open mode has no credential a page could lack. With
//     tokens the rule is off: a bearer token is never sent by the browser
//     on its own, so a foreign page cannot borrow it.
//
// OPTIONS passes, so that CORS preflights for configured origins work.
// Upstash paths answer in that surface's {"error"} format.
func containment(d *deps) func(http.Handler) http.Handler {
	open := !d.auth.enabled()
	checkHost := open || len(d.cfg.AllowedHosts) > 0
	hosts := newHostPolicy(d.cfg.AllowedHosts)
	cop, err := trustedOrigins(d.cfg.CORSOrigins)
	if err != nil {
		panic(err) // documented: Config.Validate reports it first
	}
	upstash := ""
	if d.cfg.UpstashPrefix != "off" {
		upstash = "/" + strings.Trim(d.cfg.UpstashPrefix, "/") + "/"
	}
	// lastHost is the last Host header allowed: clients send the same one
	// request after request, and comparing it is cheaper than parsing it
	// (the policy never changes, so an allowed value stays allowed).
	var lastHost atomic.Pointer[string]
	allowed := func(host string) bool {
		if p := lastHost.Load(); p != nil && *p == host {
			return true
		}
		if !hosts.allows(host) {
			return false
		}
		h := host // (only this copy escapes, on this path alone)
		lastHost.Store(&h)
		return true
	}
	return func(next http.Handler) http.Handler {
		if !checkHost && !open {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fail := d.problem
			if upstash != "" && strings.HasPrefix(r.URL.Path, upstash) {
				fail = d.upstashError
			}
			if checkHost && !allowed(r.Host) {
				fail(w, r, errorf(http.StatusForbidden, CodeForbiddenHost, "the Host header names neither a loopback address nor an allowed host (allowed_hosts)"))
				return
			}
			if open && crossSite(cop, r) {
				fail(w, r, errorf(http.StatusForbidden, CodeCrossSite, "cross-site requests are refused while no tokens are configured; add the page's origin to cors_origins or configure tokens"))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// crossSite applies cop to r as if every method were unsafe (OPTIONS
// aside): CrossOriginProtection lets GET and HEAD through by design.
func crossSite(cop *http.CrossOriginProtection, r *http.Request) bool {
	switch r.Method {
	case http.MethodOptions:
		return false
	case http.MethodGet, http.MethodHead:
		as := new(http.Request)
		*as = *r
		as.Method = http.MethodPost
		r = as
	}
	return cop.Check(r) != nil
}
