package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the server's Prometheus collectors. A nil *Metrics records
// nothing, so tests and embedders can leave it out.
type Metrics struct {
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	authFailures *prometheus.CounterVec
	rateLimits   *prometheus.CounterVec
	// redisFallbacks and redisDegraded follow the shared state in Redis.
	redisFallbacks *prometheus.CounterVec
	redisDegraded  *prometheus.GaugeVec
}

// NewMetrics creates the collectors and registers them with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aip_http_requests_total",
			Help: "HTTP requests by route pattern, method (\"other\" for non-standard ones) and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "aip_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route pattern.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"route"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aip_auth_failures_total",
			Help: "Requests refused by authentication, by reason.",
		}, []string{"reason"}),
		rateLimits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aip_rate_limited_total",
			Help: "Requests answered 429, by limit (ip or org).",
		}, []string{"limit"}),
		redisFallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aip_redis_fallback_total",
			Help: "Redis outages, by component (limiter, locks, nonces): each switched it to per-node memory until Redis answered again.",
		}, []string{"component"}),
		redisDegraded: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "aip_redis_degraded",
			Help: "1 while a component (limiter, locks, nonces) answers from per-node memory because Redis is unreachable.",
		}, []string{"component"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.authFailures, m.rateLimits, m.redisFallbacks, m.redisDegraded} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Metrics) observeRequest(route, method string, status int, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(route, methodLabel(method), strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

// methodLabel keeps the method label bounded: the method is whatever token
// a client sends, and each distinct value would be a new time series.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

// authFailure counts a refusal. Reasons are the fixed Hawk messages and a
// few of ours; attribute names from hostile headers are folded so the label
// set stays bounded.
func (m *Metrics) authFailure(reason string) {
	if m == nil {
		return
	}
	for _, p := range []string{"Unknown attribute", "Bad attribute value", "Duplicate attribute"} {
		if len(reason) > len(p) && reason[:len(p)] == p {
			reason = p
		}
	}
	m.authFailures.WithLabelValues(reason).Inc()
}

func (m *Metrics) rateLimited(limit string) {
	if m == nil {
		return
	}
	m.rateLimits.WithLabelValues(limit).Inc()
}

// RedisFallback records that component lost Redis and answers from
// per-node memory (the hook of redislimit.FallbackOptions.OnFallback).
func (m *Metrics) RedisFallback(component string) {
	if m == nil {
		return
	}
	m.redisFallbacks.WithLabelValues(component).Inc()
	m.redisDegraded.WithLabelValues(component).Set(1)
}

// RedisRecovered records that component is back on Redis.
func (m *Metrics) RedisRecovered(component string) {
	if m == nil {
		return
	}
	m.redisDegraded.WithLabelValues(component).Set(0)
}
