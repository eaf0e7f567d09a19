package engine_test

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/medicbot/medic/internal/engine"
	"github.com/medicbot/medic/internal/policy"
	"github.com/medicbot/medic/internal/store/boltstore"
)

// BenchmarkStorm pushes 1,000 distinct alarm state changes through
// HandleAlarm on 32 goroutines (a storm arrives concurrently), with the bbolt store on a temp file and fake
// side effects. It reports alarms/s: "sync" fsyncs every commit,
// "sync-batched" lets concurrent commits share a transaction and an fsync
// (boltstore.Options.BatchDelay), "nosync" never fsyncs.
func BenchmarkStorm(b *testing.B) {
	for _, mode := range []struct {
		name   string
		noSync bool
		batch  time.Duration
	}{{"sync", false, 0}, {"sync-batched", false, 2 * time.Millisecond}, {"nosync", true, 0}} {
		b.Run(mode.name, func(b *testing.B) {
			const alarms, workers = 1000, 32
			b.ReportAllocs()
			var total time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				c := newClock()
				st, err := boltstore.Open(filepath.Join(b.TempDir(), fmt.Sprintf("storm%d.db", i)), boltstore.Options{NoSync: mode.noSync, BatchDelay: mode.batch, Now: c.Now})
				if err != nil {
					b.Fatal(err)
				}
				scale := &action{name: "ecs.scale", target: "ecs:prod/checkout"}
				manual := autoPolicy("manual", "ecs.scale", requiredStep("ecs.scale", 1))
				auto := autoPolicy("auto", "ecs.scale")
				f := newFixture(b, []*policy.Policy{auto, manual}, []*action{scale}, withStore(st),
					withDeps(func(d *engine.Deps) { d.Clock = c }))
				f.q.Clock = c
				work := make(chan int)
				var wg sync.WaitGroup
				ts := c.Now()
				b.StartTimer()
				start := time.Now()
				for range workers {
					wg.Go(func() {
						for n := range work {
							if _, err := f.e.HandleAlarm(ctx, newAlarm(fmt.Sprintf("alarm-%d", n), ts)); err != nil {
								b.Error(err)
							}
						}
					})
				}
				for n := range alarms {
					work <- n
				}
				close(work)
				wg.Wait()
				total += time.Since(start)
				b.StopTimer()
				_ = st.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(alarms*b.N)/total.Seconds(), "alarms/s")
		})
	}
}
