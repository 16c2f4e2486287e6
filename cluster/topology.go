package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/redis-gateway/redis-gateway/client"
)

// slotRange is a range of slots served by one primary.
type slotRange struct {
	start, end int
	addr       string   // the primary's host:port
	replicas   []string // its replicas' host:port, those the node reports healthy
}

// Refresh reads the slot map from the first node that answers (known
// primaries first, then the seed addresses) and installs it. It returns
// an error only when no node answered with a usable map; the Client keeps
// its previous map then. The Client refreshes by itself (periodically and
// after redirections and errors); Refresh is for callers that want the
// map current now, such as tests and start-up checks.
func (c *Client) Refresh(ctx context.Context) error {
	c.refreshMu.Lock()
	defer c.refreshMu.Unlock()
	var errs []error
	for _, addr := range c.candidates() {
		ranges, err := c.fetchSlots(ctx, addr)
		if err == nil && len(ranges) == 0 {
			err = errors.New("no slot is assigned")
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", addr, err))
			if ctx.Err() != nil {
				break
			}
			continue
		}
		c.install(ranges)
		return nil
	}
	return fmt.Errorf("cluster: refresh slot map: %w", errors.Join(errs...))
}

// candidates lists the addresses to ask for the slot map: the current
// primaries, then the seeds, each once.
func (c *Client) candidates() []string {
	seen := map[string]bool{}
	var out []string
	c.mu.RLock()
	for _, a := range c.primaries {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	c.mu.RUnlock()
	for _, a := range c.cfg.Addrs {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out
}

// install replaces the slot map.
func (c *Client) install(ranges []slotRange) {
	var slots [SlotCount]string
	var primaries []string
	replicas := map[string][]string{}
	seen := map[string]bool{}
	for _, r := range ranges {
		for s := max(r.start, 0); s <= r.end && s < SlotCount; s++ {
			slots[s] = r.addr
		}
		if !seen[r.addr] {
			seen[r.addr] = true
			primaries = append(primaries, r.addr)
		}
		if c.cfg.ReadFromReplicas && len(r.replicas) > 0 {
			replicas[r.addr] = r.replicas
		}
	}
	for _, a := range primaries {
		c.node(a) // connect pools ahead of the first command
		for _, r := range replicas[a] {
			c.node(r)
		}
	}
	c.mu.Lock()
	c.slots = slots
	c.primaries = primaries
	c.replicas = replicas
	c.mu.Unlock()
}

// fetchSlots asks one node for the slot map: CLUSTER SHARDS (Redis 7),
// or CLUSTER SLOTS on servers that do not know it.
func (c *Client) fetchSlots(ctx context.Context, addr string) ([]slotRange, error) {
	n := c.node(addr)
	v, err := n.c.DoRaw(ctx, "CLUSTER", "SHARDS")
	if err == nil {
		return parseShards(v, addr)
	}
	var re *client.Error
	if !errors.As(err, &re) || re.Code != "ERR" {
		return nil, err
	}
	v, err = n.c.DoRaw(ctx, "CLUSTER", "SLOTS")
	if err != nil {
		return nil, err
	}
	return parseSlots(v, addr)
}

// parseShards reads a CLUSTER SHARDS reply (maps under RESP3, flat
// key/value arrays under RESP2: both list pairs in Elems). For each shard
// the primary is the node whose role is "master", preferring one whose
// health is "online" (a failed primary may still be listed); the
// replicas are the nodes whose role is "replica" and health "online"
// (not "loading" or "failed").
func parseShards(v client.Value, from string) ([]slotRange, error) {
	var out []slotRange
	for _, shard := range v.Elems {
		var slots []int
		var addr string
		var replicas []string
		online := false
		for i := 0; i+1 < len(shard.Elems); i += 2 {
			switch string(shard.Elems[i].Str) {
			case "slots":
				for _, s := range shard.Elems[i+1].Elems {
					slots = append(slots, int(s.Int))
				}
			case "nodes":
				for _, nd := range shard.Elems[i+1].Elems {
					f := fields(nd)
					if f["role"] == "replica" && f["health"] == "online" {
						if a := nodeAddr(f["endpoint"], f["ip"], f["port"], from); a != "" {
							replicas = append(replicas, a)
						}
					}
					if f["role"] != "master" {
						continue
					}
					a := nodeAddr(f["endpoint"], f["ip"], f["port"], from)
					if a == "" {
						continue
					}
					isOnline := f["health"] == "online"
					if addr == "" || isOnline && !online {
						addr, online = a, isOnline
					}
				}
			}
		}
		if addr == "" || len(slots)%2 != 0 {
			continue
		}
		for i := 0; i < len(slots); i += 2 {
			out = append(out, slotRange{start: slots[i], end: slots[i+1], addr: addr, replicas: replicas})
		}
	}
	return out, nil
}

// fields reads a map (or flat key/value array) of scalars into strings.
func fields(v client.Value) map[string]string {
	m := make(map[string]string, len(v.Elems)/2)
	for i := 0; i+1 < len(v.Elems); i += 2 {
		val := v.Elems[i+1]
		if len(val.Str) > 0 {
			m[string(v.Elems[i].Str)] = string(val.Str)
		} else {
			m[string(v.Elems[i].Str)] = strconv.FormatInt(val.Int, 10)
		}
	}
	return m
}

// parseSlots reads a CLUSTER SLOTS reply: [start, end, [host, port, id…],
// replicas…] per range. CLUSTER SLOTS leaves out failed replicas.
func parseSlots(v client.Value, from string) ([]slotRange, error) {
	var out []slotRange
	for _, r := range v.Elems {
		if len(r.Elems) < 3 || len(r.Elems[2].Elems) < 2 {
			return nil, fmt.Errorf("%w: malformed CLUSTER SLOTS entry", client.ErrProtocol)
		}
		p := r.Elems[2].Elems
		a := nodeAddr(string(p[0].Str), "", strconv.FormatInt(p[1].Int, 10), from)
		if a == "" {
			continue
		}
		var replicas []string
		for _, rp := range r.Elems[3:] {
			if len(rp.Elems) < 2 {
				continue
			}
			if ra := nodeAddr(string(rp.Elems[0].Str), "", strconv.FormatInt(rp.Elems[1].Int, 10), from); ra != "" {
				replicas = append(replicas, ra)
			}
		}
		out = append(out, slotRange{start: int(r.Elems[0].Int), end: int(r.Elems[1].Int), addr: a, replicas: replicas})
	}
	return out, nil
}

// nodeAddr builds host:port from what a node reports: its endpoint, else
// its IP; an empty or unknown ("?") host means "the address you reached
// me on", so the host of the node that answered is used.
func nodeAddr(endpoint, ip, port, from string) string {
	host := endpoint
	if host == "" || host == "?" {
		host = ip
	}
	if host == "" || host == "?" {
		host, _, _ = net.SplitHostPort(from)
	}
	if port == "" || port == "0" {
		return ""
	}
	return net.JoinHostPort(host, port)
}

// redirect parses the target of a MOVED or ASK error ("MOVED 3999
// 127.0.0.1:6381"), filling an empty host from the node that answered.
func redirect(re *client.Error, from string) (slot int, addr string, ok bool) {
	var code, target string
	if _, err := fmt.Sscanf(re.Msg, "%s %d %s", &code, &slot, &target); err != nil {
		return 0, "", false
	}
	host, port, err := net.SplitHostPort(target)
	if err != nil {
		return 0, "", false
	}
	if host == "" || host == "?" {
		host, _, _ = net.SplitHostPort(from)
	}
	return slot, net.JoinHostPort(host, port), true
}
