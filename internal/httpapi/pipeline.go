package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/internal/rules"
)

// pipeline turns freshly stored events into alerts: a rule engine per
// organization, built from its rules and cached until they change, and a
// windowing aggregator per organization.
//
// Not yet crash-safe: events are evaluated after InsertEvents commits, so
// events stored just before the process dies are never evaluated; and the
// windows below their threshold (plus the key → alert mapping of firing
// windows) live only in memory, so a restart forgets them and a later match
// opens a new window (and, above threshold, a new alert).
type pipeline struct {
	store  aip.Store
	logger *slog.Logger

	mu   sync.Mutex
	orgs map[string]*orgPipeline
}

// orgPipeline is one organization's evaluation state. Its mutex is held
// for a whole batch: decisions of one key must reach the store in order
// (the alert exists before it is incremented).
type orgPipeline struct {
	mu sync.Mutex
	// engine is nil when it must be (re)built from the store.
	engine *rules.Engine
	agg    *rules.Aggregator
	// alerts maps the key of a firing window to its stored alert id.
	alerts map[string]string
	// pending holds the time of events counted below a threshold, which
	// CreateAlert needs (an event is identified by id and time).
	pending map[string]pendingEvent
	// lastExpire is when windows were last expired (epoch ms).
	lastExpire int64
}

type pendingEvent struct {
	time    time.Time
	arrival int64 // epoch ms, for pruning
}

// stateTTL is how long window state and pending events are kept after
// their window or arrival: longer than any rule window.
const stateTTL = 25 * time.Hour

func newPipeline(store aip.Store, logger *slog.Logger) *pipeline {
	return &pipeline{store: store, logger: logger, orgs: make(map[string]*orgPipeline)}
}

func (p *pipeline) org(orgID string) *orgPipeline {
	p.mu.Lock()
	defer p.mu.Unlock()
	o := p.orgs[orgID]
	if o == nil {
		o = &orgPipeline{agg: rules.NewAggregator(), alerts: make(map[string]string), pending: make(map[string]pendingEvent)}
		p.orgs[orgID] = o
	}
	return o
}

// invalidate drops the cached engine of orgID after its rules or rulesets
// changed; the next batch rebuilds it. Window state is kept.
func (p *pipeline) invalidate(orgID string) {
	o := p.org(orgID)
	o.mu.Lock()
	o.engine = nil
	o.mu.Unlock()
}

// buildEngine builds orgID's engine from its stored rules. A rule that does
// not compile (stored before a validation change, say) is skipped and
// logged instead of disabling every other rule of the organization.
func (p *pipeline) buildEngine(ctx context.Context, orgID string) (*rules.Engine, error) {
	list, err := p.store.ListRules(ctx, orgID, "")
	if err != nil {
		return nil, fmt.Errorf("list rules of %s: %w", orgID, err)
	}
	rs := make([]rules.Rule, 0, len(list))
	for _, r := range list {
		rs = append(rs, rules.FromAPI(r).Rule)
	}
	eng, err := rules.NewEngine(rs)
	if err == nil {
		return eng, nil
	}
	ok := rs[:0]
	for _, r := range rs {
		if _, err := rules.NewEngine([]rules.Rule{r}); err != nil {
			p.logger.ErrorContext(ctx, "rule does not compile; skipped", slog.String("org_id", orgID),
				slog.String("rule_id", r.ID), slog.Any("error", err))
			continue
		}
		ok = append(ok, r)
	}
	eng, err = rules.NewEngine(ok)
	if err != nil {
		return nil, fmt.Errorf("build rule engine of %s: %w", orgID, err)
	}
	return eng, nil
}

// process evaluates the fresh events of one agent, all stored already, with
// the rulesets the agent runs, and records the resulting alerts.
func (p *pipeline) process(ctx context.Context, orgID, agentID string, evs []*aip.Event, arrival time.Time) error {
	rulesets, err := p.store.ListRulesets(ctx, orgID, agentID)
	if err != nil {
		return fmt.Errorf("rulesets of agent %s: %w", agentID, err)
	}
	if len(rulesets) == 0 {
		return nil
	}
	rulesetIDs := make([]string, len(rulesets))
	for i, rs := range rulesets {
		rulesetIDs[i] = rs.ID
	}

	o := p.org(orgID)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.engine == nil {
		if o.engine, err = p.buildEngine(ctx, orgID); err != nil {
			return err
		}
	}
	arrivalMS := arrival.UnixMilli()
	o.expire(arrivalMS)

	byID := make(map[string]*aip.Event, len(evs))
	for _, e := range evs {
		byID[e.ID] = e
	}
	var firstErr error
	ev := new(rules.Event)
	for _, e := range evs {
		if err := ev.Decode(e.Raw); err != nil {
			// ingest.Decode already checked the event; this is a bug, not input.
			p.logger.ErrorContext(ctx, "decode stored event", slog.String("event_id", e.ID), slog.Any("error", err))
			continue
		}
		o.engine.EvaluateRulesets(ev, rulesetIDs, func(m rules.Match) {
			d := o.agg.Observe(m, agentID, arrivalMS)
			if d.Kind == rules.Increment {
				var err error
				if d, err = o.unlessDismissed(ctx, p.store, orgID, agentID, m, d, arrivalMS); err != nil && firstErr == nil {
					firstErr = err
				}
			}
			if err := o.apply(ctx, p.store, orgID, agentID, m, d, e, byID, arrivalMS, p.alertPayload); err != nil && firstErr == nil {
				firstErr = err
			}
		})
	}
	return firstErr
}

// unlessDismissed turns an Increment of an alert that was dismissed
// through the API into the NewAlert of a fresh window: a dismissed alert
// stays closed and the next match opens another (DECISIONS.md, "Alerts").
// Dismissals happen in the store, so the alert is read back to learn it.
func (o *orgPipeline) unlessDismissed(ctx context.Context, store aip.Store, orgID, agentID string, m rules.Match,
	d rules.Decision, arrivalMS int64) (rules.Decision, error) {
	id, ok := o.alerts[d.Key]
	if !ok {
		return d, nil
	}
	a, err := store.FindAlert(ctx, orgID, id)
	if err != nil {
		return d, fmt.Errorf("read alert %s: %w", id, err)
	}
	if !a.IsDismissed {
		return d, nil
	}
	o.agg.Dismiss(d.Key)
	delete(o.alerts, d.Key)
	return o.agg.Observe(m, agentID, arrivalMS), nil
}

// apply records one decision: a Pending event is remembered, a NewAlert is
// stored with the events that formed it and, in the same transaction, its
// webhook deliveries (body from payload), an Increment links the event to
// the window's alert.
func (o *orgPipeline) apply(ctx context.Context, store aip.Store, orgID, agentID string, m rules.Match, d rules.Decision,
	e *aip.Event, batch map[string]*aip.Event, arrivalMS int64, payload func(context.Context, *aip.Alert) []byte) error {
	switch d.Kind {
	case rules.Pending:
		o.pending[e.ID] = pendingEvent{time: e.Time, arrival: arrivalMS}
	case rules.NewAlert:
		linked := make([]*aip.Event, 0, len(d.EventIDs))
		for _, id := range d.EventIDs {
			if be, ok := batch[id]; ok {
				linked = append(linked, &aip.Event{ID: id, OrgID: orgID, Time: be.Time})
			} else if pe, ok := o.pending[id]; ok {
				linked = append(linked, &aip.Event{ID: id, OrgID: orgID, Time: pe.time})
			}
			delete(o.pending, id)
		}
		aggs := make([]aip.Aggregate, len(d.Aggregates))
		for i, a := range d.Aggregates {
			aggs[i] = aip.Aggregate{FieldName: a.FieldName, Value: a.Value}
		}
		a := &aip.Alert{
			OrgID: orgID, Title: d.Title, DataSource: aip.DataSourceAgent,
			CreatedAt: aip.Time{Time: time.UnixMilli(d.CreatedAt).UTC()}, Severity: m.Rule.Severity,
			AgentID: agentID, RuleID: m.Rule.ID, RulesetID: m.Rule.RulesetID, Aggregates: aggs,
			EventCount: len(linked), ExpiresAt: aip.Time{Time: time.UnixMilli(d.ExpiresAt).UTC()},
			LastEventAt: aip.Time{Time: time.UnixMilli(d.LastEventAt).UTC()}, Key: d.Key,
		}
		// The id goes into the webhook payload, which is stored with the
		// alert in one transaction.
		a.ID = aip.NewUUID()
		if err := store.CreateAlert(ctx, a, linked, payload(ctx, a)); err != nil {
			return fmt.Errorf("create alert for rule %s: %w", m.Rule.ID, err)
		}
		o.alerts[d.Key] = a.ID
	case rules.Increment:
		id, ok := o.alerts[d.Key]
		if !ok {
			return nil
		}
		ev := &aip.Event{ID: e.ID, OrgID: orgID, Time: e.Time}
		if _, err := store.AddAlertEvents(ctx, orgID, id, []*aip.Event{ev}, time.UnixMilli(d.LastEventAt).UTC()); err != nil {
			return fmt.Errorf("add event to alert %s: %w", id, err)
		}
	}
	return nil
}

// alertPayload builds the webhook payload of a new alert before it is
// stored, so that CreateAlert queues its deliveries in the alert's own
// transaction. A payload that cannot be built is logged and yields nil:
// the alert is still stored, without deliveries, and the ingest succeeds.
func (p *pipeline) alertPayload(ctx context.Context, a *aip.Alert) []byte {
	var orgName, hostname string
	if org, err := p.store.FindOrganizationByID(ctx, a.OrgID); err == nil {
		orgName = org.Name
	}
	if agent, err := p.store.FindAgent(ctx, a.OrgID, a.AgentID, time.Time{}); err == nil {
		hostname = agent.Hostname
	}
	body, err := alertPayload(a, orgName, hostname)
	if err != nil {
		p.logger.ErrorContext(ctx, "webhook deliveries not queued", slog.String("org_id", a.OrgID),
			slog.String("alert_id", a.ID), slog.Any("error", err))
		return nil
	}
	return body
}

// expire drops, at most once a minute, the windows and pending events that
// ended more than stateTTL ago, so that memory follows the live windows.
func (o *orgPipeline) expire(nowMS int64) {
	if nowMS-o.lastExpire < time.Minute.Milliseconds() {
		return
	}
	o.lastExpire = nowMS
	cutoff := nowMS - stateTTL.Milliseconds()
	if o.agg.Expire(cutoff) > 0 {
		for k := range o.alerts {
			if _, ok := o.agg.State(k); !ok {
				delete(o.alerts, k)
			}
		}
	}
	for id, pe := range o.pending {
		if pe.arrival < cutoff {
			delete(o.pending, id)
		}
	}
}
