package cluster

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/redis-gateway/redis-gateway/client"
)

// keySpec is where a command's keys are, from COMMAND INFO: positions
// first…last (last < 0 counts from the end) every step, or movable keys
// that only the server can find (COMMAND GETKEYS).
type keySpec struct {
	known     bool
	first     int
	last      int
	step      int
	movable   bool
	container bool // has subcommands, each with its own spec
}

// keySpecs caches COMMAND INFO answers per command ("get", "xinfo|stream").
// The server's command table does not change at run time.
type keySpecs struct {
	m sync.Map // string → keySpec
}

// keys returns the keys args would touch. Commands that name keys in a way
// that is cheap to parse here (EVAL, FCALL, XREAD…) are parsed directly;
// the others use the cached COMMAND INFO positions, and commands with
// movable keys ask a node with COMMAND GETKEYS. An unknown command has no
// keys (the node it lands on answers its error).
func (c *Client) keys(ctx context.Context, args []string) ([]string, error) {
	name := strings.ToLower(args[0])
	switch name {
	case "eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro":
		if len(args) < 3 {
			return nil, nil
		}
		n, err := strconv.Atoi(args[2])
		if err != nil || n < 0 || 3+n > len(args) {
			return nil, nil // the server reports the bad count
		}
		return args[3 : 3+n], nil
	case "xread", "xreadgroup":
		for i := 1; i < len(args); i++ {
			if strings.EqualFold(args[i], "STREAMS") {
				rest := args[i+1:]
				return rest[:len(rest)/2], nil
			}
		}
		return nil, nil
	}
	spec, err := c.spec(ctx, name)
	if err != nil {
		return nil, err
	}
	if spec.container && len(args) > 1 {
		sub, err := c.spec(ctx, name+"|"+strings.ToLower(args[1]))
		if err != nil {
			return nil, err
		}
		if sub.known {
			spec = sub
		}
	}
	switch {
	case !spec.known:
		return nil, nil
	case spec.movable:
		return c.getKeys(ctx, args)
	case spec.first <= 0:
		return nil, nil
	}
	last := spec.last
	if last < 0 {
		last += len(args)
	}
	step := max(spec.step, 1)
	var keys []string
	for i := spec.first; i <= last && i < len(args); i += step {
		keys = append(keys, args[i])
	}
	return keys, nil
}

// spec returns the cached key positions of a command, asking a node with
// COMMAND INFO the first time.
func (c *Client) spec(ctx context.Context, name string) (keySpec, error) {
	if v, ok := c.specs.m.Load(name); ok {
		return v.(keySpec), nil
	}
	v, err := c.anyNode().DoRaw(ctx, "COMMAND", "INFO", name)
	if err != nil {
		return keySpec{}, fmt.Errorf("cluster: command info %s: %w", name, err)
	}
	var s keySpec
	if len(v.Elems) == 1 && len(v.Elems[0].Elems) >= 6 {
		e := v.Elems[0].Elems
		s = keySpec{known: true, first: int(e[3].Int), last: int(e[4].Int), step: int(e[5].Int)}
		for _, f := range e[2].Elems {
			if strings.EqualFold(string(f.Str), "movablekeys") {
				s.movable = true
			}
		}
		s.container = len(e) > 9 && len(e[9].Elems) > 0
	}
	c.specs.m.Store(name, s)
	return s, nil
}

// getKeys asks a node which keys args would touch. A command the server
// says has no keys gets none.
func (c *Client) getKeys(ctx context.Context, args []string) ([]string, error) {
	q := append([]string{"COMMAND", "GETKEYS"}, args...)
	v, err := c.anyNode().DoRaw(ctx, q...)
	if err != nil {
		var re *client.Error
		if errors.As(err, &re) {
			return nil, nil // no key arguments, or invalid arguments the command itself will report
		}
		return nil, fmt.Errorf("cluster: command getkeys: %w", err)
	}
	keys := make([]string, len(v.Elems))
	for i, e := range v.Elems {
		keys[i] = string(e.Str)
	}
	return keys, nil
}

// errCrossSlot is returned for a command, transaction or pipeline entry
// whose keys hash to different slots. Its code, CROSSSLOT, is the one
// Redis uses for the same refusal, so callers see one error either way.
func errCrossSlot() error {
	return &client.Error{Code: "CROSSSLOT", Msg: "CROSSSLOT Keys in request don't hash to the same slot"}
}

// slotOf returns the one slot all keys share, -1 for no keys, or a
// CROSSSLOT error.
func slotOf(keys []string) (int, error) {
	slot := -1
	for _, k := range keys {
		s := Slot(k)
		if slot >= 0 && s != slot {
			return 0, errCrossSlot()
		}
		slot = s
	}
	return slot, nil
}

// commandSlot returns the slot args must run on (-1: keyless).
func (c *Client) commandSlot(ctx context.Context, args []string) (int, error) {
	keys, err := c.keys(ctx, args)
	if err != nil {
		return 0, err
	}
	return slotOf(keys)
}
