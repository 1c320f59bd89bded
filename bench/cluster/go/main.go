// routebench: core NATS load across a cluster, with the publisher (or requester) connected to
// one server and the subscriber (or responder) to another, so every message crosses a route.
// Given the same URL twice it measures one server. `-workload jspub` instead publishes to a
// JetStream stream's subject with `-window` PubAcks outstanding (the stream must exist), through
// the publisher's server. Prints one JSON line with the result.
//
// Built offline against Debian's nats.go (golang-github-nats-io-go-nats-dev), see ../run.mjs.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

type result struct {
	Workload string   `json:"workload"`
	Msgs     int      `json:"msgs"`
	Size     int      `json:"size"`
	Seconds  float64  `json:"seconds"`
	MsgsPerS float64  `json:"msgs_per_s"`
	P50us    *float64 `json:"p50_us,omitempty"`
	P99us    *float64 `json:"p99_us,omitempty"`
	Error    string   `json:"error,omitempty"`
}

func fail(r result, err error) {
	r.Error = err.Error()
	out, _ := json.Marshal(r)
	fmt.Println(string(out))
	os.Exit(1)
}

func main() {
	pubURL := flag.String("pub", "nats://127.0.0.1:4222", "publisher / requester server")
	subURL := flag.String("sub", "nats://127.0.0.1:4222", "subscriber / responder server")
	workload := flag.String("workload", "pubsub", "pubsub|reqrep")
	msgs := flag.Int("msgs", 200000, "messages (pubsub) or requests (reqrep)")
	size := flag.Int("size", 128, "payload bytes")
	timeout := flag.Duration("timeout", 60*time.Second, "overall limit")
	subject := flag.String("subject", "bench.js", "jspub: the stream subject")
	window := flag.Int("window", 512, "jspub: PubAcks outstanding")
	flag.Parse()
	r := result{Workload: *workload, Msgs: *msgs, Size: *size}
	payload := make([]byte, *size)

	sub, err := nats.Connect(*subURL, nats.Name("routebench-sub"))
	if err != nil {
		fail(r, err)
	}
	defer sub.Close()
	pub, err := nats.Connect(*pubURL, nats.Name("routebench-pub"))
	if err != nil {
		fail(r, err)
	}
	defer pub.Close()

	// Interest must have crossed the route before measuring: probe until the publisher's server
	// delivers to the subscriber's server.
	probe := func(subject string) error {
		got := make(chan struct{}, 1)
		s, err := sub.Subscribe(subject+".probe", func(*nats.Msg) {
			select {
			case got <- struct{}{}:
			default:
			}
		})
		if err != nil {
			return err
		}
		defer s.Unsubscribe()
		sub.Flush()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			pub.Publish(subject+".probe", nil)
			pub.Flush()
			select {
			case <-got:
				return nil
			case <-time.After(50 * time.Millisecond):
			}
		}
		return fmt.Errorf("interest in %s never crossed", subject)
	}

	switch *workload {
	case "jspub":
		var failed int64
		js, err := pub.JetStream(nats.PublishAsyncMaxPending(*window),
			nats.PublishAsyncErrHandler(func(nats.JetStream, *nats.Msg, error) { atomic.AddInt64(&failed, 1) }))
		if err != nil {
			fail(r, err)
		}
		start := time.Now()
		for i := 0; i < *msgs; i++ {
			// A full window waits for PubAcks rather than failing after nats.go's default 200 ms.
			if _, err := js.PublishAsync(*subject, payload, nats.StallWait(*timeout)); err != nil {
				fail(r, err)
			}
		}
		select {
		case <-js.PublishAsyncComplete():
		case <-time.After(*timeout):
			fail(r, fmt.Errorf("timeout: %d PubAcks outstanding", js.PublishAsyncPending()))
		}
		r.Seconds = time.Since(start).Seconds()
		if n := atomic.LoadInt64(&failed); n > 0 {
			fail(r, fmt.Errorf("%d publishes failed", n))
		}
	case "pubsub":
		var n int64
		done := make(chan struct{})
		s, err := sub.Subscribe("bench.route", func(*nats.Msg) {
			if atomic.AddInt64(&n, 1) == int64(*msgs) {
				close(done)
			}
		})
		if err != nil {
			fail(r, err)
		}
		s.SetPendingLimits(-1, -1)
		sub.Flush()
		if err := probe("bench.route"); err != nil {
			fail(r, err)
		}
		start := time.Now()
		for i := 0; i < *msgs; i++ {
			if err := pub.Publish("bench.route", payload); err != nil {
				fail(r, err)
			}
		}
		pub.Flush()
		select {
		case <-done:
		case <-time.After(*timeout):
			fail(r, fmt.Errorf("timeout: %d of %d delivered", atomic.LoadInt64(&n), *msgs))
		}
		r.Seconds = time.Since(start).Seconds()
	case "reqrep":
		_, err := sub.Subscribe("bench.svc", func(m *nats.Msg) { m.Respond(m.Data) })
		if err != nil {
			fail(r, err)
		}
		sub.Flush()
		if err := probe("bench.svc"); err != nil {
			fail(r, err)
		}
		lat := make([]float64, 0, *msgs)
		start := time.Now()
		for i := 0; i < *msgs; i++ {
			t := time.Now()
			if _, err := pub.Request("bench.svc", payload, 5*time.Second); err != nil {
				fail(r, err)
			}
			lat = append(lat, float64(time.Since(t).Nanoseconds())/1000)
		}
		r.Seconds = time.Since(start).Seconds()
		sort.Float64s(lat)
		p50 := lat[len(lat)/2]
		p99 := lat[len(lat)*99/100]
		r.P50us, r.P99us = &p50, &p99
	default:
		fail(r, fmt.Errorf("unknown workload %q", *workload))
	}
	r.MsgsPerS = float64(*msgs) / r.Seconds
	out, _ := json.Marshal(r)
	fmt.Println(string(out))
}
