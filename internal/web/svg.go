package web

import (
	"fmt"
	"html/template"
	"strings"
)

// chartBucket is one bar of a stacked bar chart: its axis label and its
// counts by alert severity (index 0 is severity 1).
type chartBucket struct {
	Label string
	// Long names the bucket in full for the data table and the bar's
	// tooltip (e.g. "2026-12-07 13:00 UTC").
	Long   string
	Counts [3]int
}

// Total is the height of the bucket's bar.
func (b chartBucket) Total() int { return b.Counts[0] + b.Counts[1] + b.Counts[2] }

// Chart geometry, in SVG user units; the SVG scales to its container
// through its viewBox, so these only fix the proportions.
const (
	chartWidth   = 720
	chartHeight  = 240
	chartLeft    = 44 // room for the y-axis labels
	chartRight   = 8
	chartTop     = 12
	chartBottom  = 28 // room for the x-axis labels
	chartMaxTick = 8  // x-axis labels at most, so that they never overlap
)

// chartFills are the severities' bar colours, the console.css --sev1..3
// values, as presentation attributes (the CSP forbids inline styles).
var chartFills = [3]string{"#a11a1a", "#8a4b00", "#1f5f8b"}

// alertChartSVG renders buckets as an inline SVG stacked bar chart of alerts
// by severity. It is server-rendered so that it needs no JavaScript; title
// and desc become the SVG's accessible name and description (the page also
// carries the same numbers as a table, for screen readers and text
// browsers). Every text is escaped.
func alertChartSVG(id, title, desc string, buckets []chartBucket) template.HTML {
	esc := template.HTMLEscapeString
	peak := 0
	for _, b := range buckets {
		peak = max(peak, b.Total())
	}
	scale := niceCeil(peak)
	plotW := float64(chartWidth - chartLeft - chartRight)
	plotH := float64(chartHeight - chartTop - chartBottom)

	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="chart" id="%s" role="img" viewBox="0 0 %d %d" preserveAspectRatio="xMidYMid meet" aria-labelledby="%s-title %s-desc">`,
		esc(id), chartWidth, chartHeight, esc(id), esc(id))
	fmt.Fprintf(&sb, `<title id="%s-title">%s</title><desc id="%s-desc">%s</desc>`, esc(id), esc(title), esc(id), esc(desc))

	// Horizontal grid lines and y labels at 0, 1/2 and the top of the scale.
	for _, frac := range []int{0, 1, 2} {
		v := scale * frac / 2
		y := float64(chartTop) + plotH - plotH*float64(v)/float64(scale)
		fmt.Fprintf(&sb, `<line class="chart-grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#c9ced6" stroke-width="1"/>`,
			chartLeft, chartWidth-chartRight, y, y)
		fmt.Fprintf(&sb, `<text class="chart-label" x="%d" y="%.1f" text-anchor="end" font-size="11" fill="#4a5360">%d</text>`,
			chartLeft-6, y+4, v)
	}

	n := len(buckets)
	if n > 0 {
		slot := plotW / float64(n)
		barW := max(slot*0.7, 1)
		every := (n + chartMaxTick - 1) / chartMaxTick
		for i, b := range buckets {
			x := float64(chartLeft) + slot*float64(i) + (slot-barW)/2
			y := float64(chartTop) + plotH
			fmt.Fprintf(&sb, `<g class="chart-bar"><title>%s: %d alerts (%d high, %d medium, %d low)</title>`,
				esc(b.Long), b.Total(), b.Counts[0], b.Counts[1], b.Counts[2])
			for sev, c := range b.Counts {
				if c == 0 {
					continue
				}
				h := plotH * float64(c) / float64(scale)
				y -= h
				fmt.Fprintf(&sb, `<rect class="chart-sev%d" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`,
					sev+1, x, y, barW, h, chartFills[sev])
			}
			sb.WriteString(`</g>`)
			if i%every == 0 {
				fmt.Fprintf(&sb, `<text class="chart-label" x="%.1f" y="%d" text-anchor="middle" font-size="11" fill="#4a5360">%s</text>`,
					x+barW/2, chartHeight-chartBottom+16, esc(b.Label))
			}
		}
	}
	sb.WriteString(`</svg>`)
	// Every interpolated string above went through esc; the rest is ours.
	return template.HTML(sb.String())
}

// niceCeil rounds a chart's peak up to a value whose half is a whole
// number, so that the y labels read 0, n/2, n; never less than 2 so that
// an empty chart still has an axis.
func niceCeil(peak int) int {
	if peak <= 2 {
		return 2
	}
	step := 1
	for step*10 < peak {
		step *= 10
	}
	// Round up to 2, 4, 6, 8 or 10 times step: even, so the middle label
	// is whole.
	for m := 2; ; m += 2 {
		if m*step >= peak {
			return m * step
		}
	}
}
