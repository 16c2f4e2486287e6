package api

import (
	"strconv"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/redis-gateway/redis-gateway/client"
)

// TestAutoPipelineBatchHistogram sends concurrent requests through an
// auto-pipelined database and checks that gateway_autopipeline_batch_commands
// counts every command written, in some number of flushes.
func TestAutoPipelineBatchHistogram(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	metrics := NewMetrics(reg, reg)
	db := newTestDBWith(t, "0", shared.URL(0), func(cfg *client.Config) {
		cfg.AutoPipeline = true
		cfg.ObserveBatch = metrics.BatchObserver("0")
	})
	g := &gateway{URL: newHTTPServer(t, NewServer(nil, Config{}, []*Database{db}, metrics))}
	const requests = 64
	var wg sync.WaitGroup
	for i := range requests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := t.Name() + ":" + strconv.Itoa(i)
			if rep := g.do(t, "PUT", "/db/0/strings/"+key, map[string]any{"value": "v"}); rep.Status != 200 {
				t.Errorf("PUT %s: got status %d (%s), want 200", key, rep.Status, rep.Body)
			}
		}()
	}
	wg.Wait()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "gateway_autopipeline_batch_commands" {
			continue
		}
		h := f.GetMetric()[0].GetHistogram()
		if h.GetSampleSum() < requests || h.GetSampleCount() == 0 {
			t.Fatalf("batch histogram: got %d flushes, %.0f commands, want at least %d commands", h.GetSampleCount(), h.GetSampleSum(), requests)
		}
		t.Logf("%.0f commands in %d flushes", h.GetSampleSum(), h.GetSampleCount())
		return
	}
	t.Fatal("gateway_autopipeline_batch_commands is not exported")
}
