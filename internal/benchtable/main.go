// Command benchtable turns `go test -bench` output (read from stdin, several
// -count runs) into one table: per benchmark, the median of each metric over
// its runs, and the number of runs. `make bench` prints it.
package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

var (
	benchLine = regexp.MustCompile(`^(Benchmark\S+?)(-\d+)?\s+\d+\s+(.*)$`)
	pkgLine   = regexp.MustCompile(`^pkg: (\S+)`)
)

type row struct {
	pkg, name string
	metrics   map[string][]float64
	units     []string
}

func main() {
	var rows []*row
	byName := map[string]*row{}
	pkg := ""
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := pkgLine.FindStringSubmatch(line); m != nil {
			pkg = m[1]
			continue
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		key := pkg + " " + m[1]
		r := byName[key]
		if r == nil {
			r = &row{pkg: pkg, name: m[1], metrics: map[string][]float64{}}
			byName[key] = r
			rows = append(rows, r)
		}
		f := strings.Fields(m[3])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			unit := f[i+1]
			if _, ok := r.metrics[unit]; !ok {
				r.units = append(r.units, unit)
			}
			r.metrics[unit] = append(r.metrics[unit], v)
		}
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BENCHMARK\tRUNS\tMEDIANS")
	for _, r := range rows {
		var parts []string
		runs := 0
		for _, u := range r.units {
			vs := r.metrics[u]
			runs = max(runs, len(vs))
			parts = append(parts, format(median(vs))+" "+u)
		}
		short := r.pkg[strings.LastIndex(r.pkg, "/")+1:]
		fmt.Fprintf(tw, "%s.%s\t%d\t%s\n", short, strings.TrimPrefix(r.name, "Benchmark"), runs, strings.Join(parts, "  "))
	}
	tw.Flush()
}

func median(vs []float64) float64 {
	s := slices.Clone(vs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func format(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}
