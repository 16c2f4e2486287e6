// Package multihost parses the parts that the multi-host URL schemes
// (redis+cluster://, redis+sentinel://) share: a userinfo prefix, a
// comma-separated host list with a default port, and boolean options.
package multihost

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// SplitHosts splits "user:pass@h1:p1,h2" into the userinfo prefix (with
// its '@', or "") and the host:port addresses, adding defaultPort to a
// host without one. Empty entries are skipped.
func SplitHosts(hosts, defaultPort string) (userinfo string, addrs []string) {
	if i := strings.LastIndexByte(hosts, '@'); i >= 0 {
		userinfo, hosts = hosts[:i+1], hosts[i+1:]
	}
	for _, h := range strings.Split(hosts, ",") {
		if h = strings.TrimSpace(h); h == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(h); err != nil {
			h = net.JoinHostPort(h, defaultPort)
		}
		addrs = append(addrs, h)
	}
	return userinfo, addrs
}

// TakeBool removes option name from q and returns its value (false when
// absent).
func TakeBool(q url.Values, name string) (bool, error) {
	v := q.Get(name)
	q.Del(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s %q: want true or false", name, v)
	}
	return b, nil
}
