package email

import (
	"os"
	"testing"
)

// BenchmarkParseCorpus parses every corpus and testdata message per
// iteration and reports messages and megabytes per second.
func BenchmarkParseCorpus(b *testing.B) {
	paths := corpusFiles(b)
	var msgs [][]byte
	var total int64
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		msgs = append(msgs, raw)
		total += int64(len(raw))
	}
	b.SetBytes(total)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, raw := range msgs {
			_, _ = Parse(raw, ParseOptions{})
		}
	}
	b.ReportMetric(float64(b.N*len(msgs))/b.Elapsed().Seconds(), "msgs/s")
}
