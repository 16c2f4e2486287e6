package client

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// CommandInfo is what Redis reports about a command in COMMAND INFO, as far
// as access control needs it.
type CommandInfo struct {
	// Name is the command's name as Redis reports it ("get", "config|get").
	Name string
	// Known is false when Redis does not know the command.
	Known bool
	// Flags are the command flags: "readonly", "write", "admin", "pubsub",
	// "noscript", "may_replicate", "blocking"…
	Flags []string
	// Categories are the ACL categories without "@": "read", "write",
	// "dangerous", "slow"…
	Categories []string
}

// Has reports whether the command has the flag.
func (ci CommandInfo) Has(flag string) bool {
	for _, f := range ci.Flags {
		if f == flag {
			return true
		}
	}
	return false
}

// InCategory reports whether the command is in the ACL category (without "@").
func (ci CommandInfo) InCategory(cat string) bool {
	for _, c := range ci.Categories {
		if c == cat {
			return true
		}
	}
	return false
}

// commandInfoCache holds COMMAND INFO answers per command, fetched once
// per client (the server's command table does not change at run time).
type commandInfoCache struct {
	m sync.Map // string → CommandInfo
}

// CommandInfo returns Redis's own description of the command args would
// run (for container commands such as CONFIG GET, the subcommand's). The
// answer is fetched with COMMAND INFO once and then cached; an error is
// returned only when Redis cannot be asked.
func (c *Client) CommandInfo(ctx context.Context, args []string) (CommandInfo, error) {
	if len(args) == 0 {
		return CommandInfo{}, ErrEmptyCommand
	}
	name, key := infoKey(args)
	if v, ok := c.infos.m.Load(key); ok {
		return v.(CommandInfo), nil
	}
	ci, err := c.fetchCommandInfo(ctx, key)
	if err != nil {
		return CommandInfo{}, err
	}
	if !ci.Known && key != name {
		// Older servers do not know "container|sub": use the container.
		if ci, err = c.fetchCommandInfo(ctx, name); err != nil {
			return CommandInfo{}, err
		}
	}
	c.infos.m.Store(key, ci)
	return ci, nil
}

// CachedCommandInfo returns what [Client.CommandInfo] would for args when
// the answer is cached, and false when asking for it would take a round
// trip to Redis (callers then bound that round trip with a deadline of
// their own; a cache hit needs none).
func (c *Client) CachedCommandInfo(args []string) (CommandInfo, bool) {
	if len(args) == 0 {
		return CommandInfo{}, false
	}
	_, key := infoKey(args)
	v, ok := c.infos.m.Load(key)
	if !ok {
		return CommandInfo{}, false
	}
	return v.(CommandInfo), true
}

// infoKey returns the lower-case command name and the cache key of its
// COMMAND INFO ("config|get" for a container's subcommand).
func infoKey(args []string) (name, key string) {
	name = strings.ToLower(args[0])
	key = name
	if len(args) > 1 && hasSubcommandInfo(name) {
		key = name + "|" + strings.ToLower(args[1])
	}
	return name, key
}

func (c *Client) fetchCommandInfo(ctx context.Context, name string) (CommandInfo, error) {
	// never fenced: a lookup, not the request's commands
	v, err := c.DoRaw(WithFence(ctx, nil), "COMMAND", "INFO", name)
	if err != nil {
		return CommandInfo{}, fmt.Errorf("client: command info: %w", err)
	}
	if !v.IsAggregate() {
		return CommandInfo{Name: name}, nil
	}
	// Redis answers one entry (null when unknown); servers that ignore the
	// argument (the embedded one) send their whole table: take the entry
	// named name.
	var e []Value
	for _, entry := range v.Elems {
		if len(entry.Elems) >= 3 && strings.EqualFold(string(entry.Elems[0].Str), name) {
			e = entry.Elems
			break
		}
	}
	if e == nil {
		return CommandInfo{Name: name}, nil
	}
	ci := CommandInfo{Name: string(e[0].Str), Known: true}
	for _, f := range e[2].Elems {
		ci.Flags = append(ci.Flags, strings.ToLower(string(f.Str)))
	}
	if len(e) > 6 {
		for _, cat := range e[6].Elems {
			ci.Categories = append(ci.Categories, strings.TrimPrefix(strings.ToLower(string(cat.Str)), "@"))
		}
	}
	return ci, nil
}

// hasSubcommandInfo reports container commands whose subcommands have
// their own COMMAND INFO entry.
func hasSubcommandInfo(name string) bool {
	switch name {
	case "acl", "client", "cluster", "command", "config", "function", "latency",
		"memory", "module", "object", "pubsub", "script", "slowlog", "xinfo", "xgroup":
		return true
	}
	return false
}
