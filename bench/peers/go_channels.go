// The Go peer of the channel benchmarks (BENCHMARKING.md C1, C2, C3, C4), the same workloads as
// bench/channel_bench and bench/select_bench with goroutines and Go channels. GOMAXPROCS is the
// number of executors (the caller sets it). Prints the figure and whether the run verified its
// own count and checksum: "VALUE 1".
//
//	GOMAXPROCS=1 go_channels c1 10000000
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// C1: one producer, one consumer, capacity 1024. M msg/s.
func c1(n uint64) (float64, bool) {
	ch := make(chan uint64, 1024)
	start := time.Now()
	go func() {
		for i := uint64(0); i < n; i++ {
			ch <- i
		}
		close(ch)
	}()
	var sum, expected uint64
	inOrder := true
	for v := range ch {
		inOrder = inOrder && v == expected
		expected++
		sum += v
	}
	return float64(n) / time.Since(start).Seconds() / 1e6, inOrder && expected == n && sum == n*(n-1)/2
}

// C2: ping-pong over two channels of capacity 1. ns per round trip.
func c2(n uint64) (float64, bool) {
	ping := make(chan uint64, 1)
	pong := make(chan uint64, 1)
	go func() {
		for v := range ping {
			pong <- v
		}
	}()
	inOrder := true
	start := time.Now()
	for i := uint64(0); i < n; i++ {
		ping <- i
		inOrder = inOrder && <-pong == i
	}
	elapsed := time.Since(start)
	close(ping)
	return float64(elapsed.Nanoseconds()) / float64(n), inOrder
}

// C3: 4 producers, 4 consumers, one channel of capacity 1024. M msg/s.
func c3(perProducer uint64) (float64, bool) {
	const sides = 4
	ch := make(chan uint64, 1024)
	done := make(chan [2]uint64)
	start := time.Now()
	for p := 0; p < sides; p++ {
		go func() {
			for j := uint64(0); j < perProducer; j++ {
				ch <- j
			}
			done <- [2]uint64{}
		}()
	}
	for c := 0; c < sides; c++ {
		go func() {
			var count, sum uint64
			for v := range ch {
				count++
				sum += v
			}
			done <- [2]uint64{count, sum}
		}()
	}
	for p := 0; p < sides; p++ {
		<-done
	}
	close(ch)
	var count, sum uint64
	for c := 0; c < sides; c++ {
		r := <-done
		count += r[0]
		sum += r[1]
	}
	rate := float64(count) / time.Since(start).Seconds() / 1e6
	return rate, count == sides*perProducer && sum == sides*(perProducer*(perProducer-1)/2)
}

// C4: one consumer selecting over 4 channels (capacity 1024), each fed by its own producer, with
// a timeout case armed afresh every iteration. M msg/s.
func c4(perProducer uint64) (float64, bool) {
	var ch [4]chan uint64
	for p := range ch {
		ch[p] = make(chan uint64, 1024)
		go func(p int) {
			for j := uint64(0); j < perProducer; j++ {
				ch[p] <- uint64(p)*perProducer + j
			}
		}(p)
	}
	total := 4 * perProducer
	var count, sum uint64
	start := time.Now()
	for count < total {
		timer := time.NewTimer(time.Second)
		var v uint64
		select {
		case v = <-ch[0]:
		case v = <-ch[1]:
		case v = <-ch[2]:
		case v = <-ch[3]:
		case <-timer.C:
			return 0, false // a second without a message: the rest will not come
		}
		timer.Stop()
		count++
		sum += v
	}
	rate := float64(count) / time.Since(start).Seconds() / 1e6
	return rate, sum == total*(total-1)/2
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: go_channels c1|c2|c3|c4 N")
		os.Exit(2)
	}
	n, err := strconv.ParseUint(os.Args[2], 10, 64)
	if err != nil || n == 0 {
		fmt.Fprintln(os.Stderr, "go_channels: N must be a positive integer")
		os.Exit(2)
	}
	workloads := map[string]func(uint64) (float64, bool){"c1": c1, "c2": c2, "c3": c3, "c4": c4}
	run, ok := workloads[os.Args[1]]
	if !ok {
		fmt.Fprintln(os.Stderr, "go_channels: unknown workload", os.Args[1])
		os.Exit(2)
	}
	value, verified := run(n)
	flag := 0
	if verified {
		flag = 1
	}
	fmt.Printf("%g %d\n", value, flag)
}
