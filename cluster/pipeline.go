package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/redis-gateway/redis-gateway/client"
)

// Pipe runs cmds as pipelines, one per node: commands are grouped by the
// primary serving their slot, the groups are sent concurrently, and the
// results come back in the order of cmds. A command answered with a
// redirection or TRYAGAIN (it did not run) is then run again on its own,
// following the redirection, in the order of cmds. A command whose keys
// span slots gets a CROSSSLOT error in its Result and the others run. As
// for client.Client.Pipe, a refused command fails the whole call before
// anything is sent, and a transport failure on any node fails the call
// (commands on other nodes may have run; none is resent).
func (c *Client) Pipe(ctx context.Context, cmds [][]string) ([]client.Result, error) {
	if len(cmds) == 0 {
		return nil, nil
	}
	for i, args := range cmds {
		if err := client.CheckCommand(args); err != nil {
			return nil, fmt.Errorf("command %d: %w", i, err)
		}
	}
	out := make([]client.Result, len(cmds))
	slots := make([]int, len(cmds))
	type group struct {
		idx  []int
		cmds [][]string
	}
	groups := map[string]*group{}
	var order []string
	for i, args := range cmds {
		slot, err := c.commandSlot(ctx, args)
		if err != nil {
			var re *client.Error
			if !errors.As(err, &re) {
				return nil, err
			}
			out[i].Err = err
			out[i].Raw = client.Value{Kind: errorKind, Str: []byte(re.Msg)}
			slots[i] = -2
			continue
		}
		slots[i] = slot
		addr := c.addrFor(slot)
		g := groups[addr]
		if g == nil {
			g = &group{}
			groups[addr] = g
			order = append(order, addr)
		}
		g.idx = append(g.idx, i)
		g.cmds = append(g.cmds, args)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(order))
	for gi, addr := range order {
		g := groups[addr]
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := c.node(addr).c.Pipe(ctx, g.cmds)
			if err != nil {
				if client.IsTransport(err) {
					c.triggerRefresh()
				}
				errs[gi] = fmt.Errorf("cluster: node %s: %w", addr, err)
				return
			}
			for j, r := range res {
				out[g.idx[j]].Raw = r.Raw
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for i, args := range cmds {
		if slots[i] == -2 {
			continue
		}
		if e, ok := out[i].Raw.Err().(*client.Error); ok && retryable(e.Code) {
			v, err := c.rerun(ctx, slots[i], e, args)
			if err != nil && !errors.As(err, new(*client.Error)) {
				return nil, err
			}
			out[i].Raw = v
		}
		out[i].Value, out[i].Err = c.reg.Shape(out[i].Raw, client.OptionsFor(args))
	}
	return out, nil
}

// retryable reports the error codes of commands that did not run and may
// be sent again.
func retryable(code string) bool {
	switch code {
	case "MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN":
		return true
	}
	return false
}

// rerun runs one pipelined command again after the node answered e.
func (c *Client) rerun(ctx context.Context, slot int, e *client.Error, args []string) (client.Value, error) {
	return c.rerunWith(ctx, slot, e, func(addr string, asking bool) (client.Value, error) {
		return c.run(ctx, slot, addr, asking, args)
	})
}

// rerunWith is rerun with run's loop given as once: it follows e (MOVED,
// ASK) to the node it names, or runs the command again where the slot
// map says (TRYAGAIN, CLUSTERDOWN).
func (c *Client) rerunWith(ctx context.Context, slot int, e *client.Error, once func(addr string, asking bool) (client.Value, error)) (client.Value, error) {
	switch e.Code {
	case "MOVED", "ASK":
		s, to, ok := redirect(e, c.addrFor(slot))
		if !ok {
			return client.Value{Kind: errorKind, Str: []byte(e.Msg)}, e
		}
		if e.Code == "MOVED" {
			c.moved(s, to)
			return once(to, false)
		}
		return once(to, true)
	}
	return once(c.addrFor(slot), false)
}

// Transaction runs cmds in MULTI/EXEC after WATCH on the node serving
// their keys, which must all (watched ones included) hash to one slot:
// otherwise it fails with a CROSSSLOT *client.Error before sending
// anything. Keyless transactions run on the keyless-command node. When
// the node answers WATCH or the queued commands with a redirection or
// TRYAGAIN, nothing ran: the map is refreshed and the whole transaction
// is tried again, within MaxRedirects. Other errors are as for
// client.Client.Transaction.
func (c *Client) Transaction(ctx context.Context, watch []string, cmds [][]string) ([]client.Result, error) {
	keys := append([]string(nil), watch...)
	for i, args := range cmds {
		if err := client.CheckCommand(args); err != nil {
			return nil, fmt.Errorf("command %d: %w", i, err)
		}
		k, err := c.keys(ctx, args)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k...)
	}
	slot, err := slotOf(keys)
	if err != nil {
		return nil, err
	}
	backoff := c.cfg.RetryBackoff
	for attempt := 0; ; attempt++ {
		addr := c.addrFor(slot)
		res, err := c.node(addr).c.Transaction(ctx, watch, cmds)
		if err == nil {
			for i := range res {
				res[i].Value, res[i].Err = c.reg.Shape(res[i].Raw, client.OptionsFor(cmds[i]))
			}
			return res, nil
		}
		e := txRedirect(err)
		if e == nil || attempt >= c.cfg.MaxRedirects {
			if client.IsTransport(err) {
				c.triggerRefresh()
			}
			return nil, err
		}
		if e.Code == "MOVED" {
			if s, to, ok := redirect(e, addr); ok {
				c.moved(s, to)
				continue
			}
		}
		// ASK (a slot being migrated), TRYAGAIN, CLUSTERDOWN: wait for the
		// cluster to settle and try again.
		c.triggerRefresh()
		if sleep(ctx, backoff) != nil {
			return nil, err
		}
		backoff = min(backoff*2, 16*c.cfg.RetryBackoff)
	}
}

// txRedirect returns the redirection or TRYAGAIN that made a transaction
// fail without running: the reply to WATCH, or the refusal of a queued
// command (EXECABORT).
func txRedirect(err error) *client.Error {
	var te *client.TxError
	if errors.As(err, &te) {
		for _, r := range te.Results {
			if e, ok := r.Err.(*client.Error); ok && retryable(e.Code) {
				return e
			}
		}
		return nil
	}
	var re *client.Error
	if errors.As(err, &re) && retryable(re.Code) {
		return re
	}
	return nil
}
