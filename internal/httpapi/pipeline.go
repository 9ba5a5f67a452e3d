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

// pipeline turns events into alerts: a rule engine per organization, built
// from its rules and cached until they change, and a windowing aggregator
// per organization whose state is a cache of the windows in the store.
//
// Events are evaluated inside the transaction that stores them, and the
// alerts, links and windows they change commit with them (IngestEvents):
// an event is stored if and only if its effect is, so a crash loses
// neither and a re-sent event, never fresh again, never counts twice. When
// a transaction fails, memory may be ahead of the store, so the
// organization's windows are dropped and reloaded from the store.
//
// Several nodes may share the store: evaluations of one organization are
// serialized by the store, which hands each one the organization's
// generation counters (aip.EvalState); a node whose cache is behind (another
// node evaluated or changed rules since) reloads windows or rebuilds its
// engine inside the transaction, so alerts come out as on one node.
type pipeline struct {
	store  aip.Store
	logger *slog.Logger

	mu   sync.Mutex
	orgs map[string]*orgPipeline
}

// orgPipeline is one organization's evaluation state. Its mutex is held
// for a whole batch, store transaction included: batches of one
// organization are evaluated in the order they commit.
type orgPipeline struct {
	mu sync.Mutex
	// engine is nil when it must be (re)built from the store.
	engine *rules.Engine
	// agg is nil when the windows must be (re)loaded from the store.
	agg *rules.Aggregator
	// gen and rulesGen are the store's evaluation and rules generations
	// agg and engine are current for (aip.EvalState).
	gen, rulesGen int64
	// alerts maps the key of a firing window to its stored alert id.
	alerts map[string]string
	// pending holds the time of events counted below a threshold, which
	// linking needs (an event is identified by id and time).
	pending map[string]pendingEvent
	// lastExpire is when windows were last expired (epoch ms).
	lastExpire int64
}

type pendingEvent struct {
	time    time.Time
	arrival int64 // epoch ms, for pruning
}

func newPipeline(store aip.Store, logger *slog.Logger) *pipeline {
	return &pipeline{store: store, logger: logger, orgs: make(map[string]*orgPipeline)}
}

func (p *pipeline) org(orgID string) *orgPipeline {
	p.mu.Lock()
	defer p.mu.Unlock()
	o := p.orgs[orgID]
	if o == nil {
		o = &orgPipeline{}
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

// ingest stores the events of one agent and, in the same transaction,
// evaluates the fresh ones with the rulesets the agent runs and records
// what they change. It returns which events were fresh.
func (p *pipeline) ingest(ctx context.Context, orgID, agentID string, evs []*aip.Event, arrival time.Time) ([]bool, error) {
	rulesets, err := p.store.ListRulesets(ctx, orgID, agentID)
	if err != nil {
		return nil, fmt.Errorf("rulesets of agent %s: %w", agentID, err)
	}
	if len(rulesets) == 0 {
		return p.store.InsertEvents(ctx, orgID, evs)
	}
	rulesetIDs := make([]string, len(rulesets))
	for i, rs := range rulesets {
		rulesetIDs[i] = rs.ID
	}

	o := p.org(orgID)
	o.mu.Lock()
	defer o.mu.Unlock()
	var nextGen int64
	fresh, err := p.store.IngestEvents(ctx, orgID, evs, func(ctx context.Context, fresh []*aip.Event, st *aip.EvalState) (*aip.Evaluation, error) {
		if err := p.load(ctx, o, orgID, st, arrival); err != nil {
			return nil, err
		}
		ev, err := p.evaluate(ctx, o, orgID, agentID, rulesetIDs, fresh, arrival)
		nextGen = st.Generation
		if !ev.Empty() {
			nextGen++
		}
		return ev, err
	})
	if err != nil {
		// Nothing was stored, but the windows may have moved: reload them.
		o.agg = nil
		return nil, err
	}
	o.gen = nextGen
	return fresh, nil
}

// load makes o current for the store's evaluation state st, inside the
// store's transaction: the engine is rebuilt when it is missing or the
// rules changed (on any node), the windows reloaded when they are missing
// or another node (or process) committed an evaluation since o's last one.
func (p *pipeline) load(ctx context.Context, o *orgPipeline, orgID string, st *aip.EvalState, arrival time.Time) error {
	if o.engine == nil || o.rulesGen != st.RulesGeneration {
		eng, err := p.buildEngine(ctx, orgID)
		if err != nil {
			return err
		}
		o.engine, o.rulesGen = eng, st.RulesGeneration
	}
	if o.agg != nil && o.gen == st.Generation {
		return nil
	}
	ws, err := st.Windows(arrival.Add(-aip.AlertWindowRetention))
	if err != nil {
		return fmt.Errorf("load windows of %s: %w", orgID, err)
	}
	agg := rules.NewAggregator()
	o.alerts = make(map[string]string, len(ws))
	o.pending = make(map[string]pendingEvent)
	arrivalMS := arrival.UnixMilli()
	for _, w := range ws {
		st := rules.WindowState{
			WindowStart: w.WindowStart.UnixMilli(), WindowEnd: w.WindowEnd.UnixMilli(), Count: w.Count,
			FirstEventAt: w.FirstEventAt.UnixMilli(), LastEventAt: w.LastEventAt.UnixMilli(),
			Alerting: w.Alerting, Dismissed: w.Dismissed,
		}
		for _, e := range w.Pending {
			st.PendingEventIDs = append(st.PendingEventIDs, e.ID)
			o.pending[e.ID] = pendingEvent{time: e.Time, arrival: arrivalMS}
		}
		agg.Restore(w.Key, st)
		if w.AlertID != "" {
			o.alerts[w.Key] = w.AlertID
		}
	}
	o.agg = agg
	return nil
}

// batchEval accumulates the Evaluation of one batch.
type batchEval struct {
	out aip.Evaluation
	// links indexes out.Links by alert id.
	links map[string]int
	// touched lists the keys whose window changed, in first-change order.
	touched []string
	seen    map[string]bool
	// created are the alerts of this batch, not readable from the store
	// before it commits; checked are the alerts known not dismissed.
	created, checked map[string]bool
}

// evaluate runs the engine over the fresh events of one agent, in order,
// inside the store transaction that stores them.
func (p *pipeline) evaluate(ctx context.Context, o *orgPipeline, orgID, agentID string, rulesetIDs []string,
	evs []*aip.Event, arrival time.Time) (*aip.Evaluation, error) {
	arrivalMS := arrival.UnixMilli()
	o.expire(arrivalMS)
	byID := make(map[string]*aip.Event, len(evs))
	for _, e := range evs {
		byID[e.ID] = e
	}
	b := &batchEval{links: map[string]int{}, seen: map[string]bool{}, created: map[string]bool{}, checked: map[string]bool{}}
	var firstErr error
	ev := new(rules.Event)
	for _, e := range evs {
		if err := ev.Decode(e.Raw); err != nil {
			// ingest.Decode already checked the event; this is a bug, not input.
			p.logger.ErrorContext(ctx, "decode stored event", slog.String("event_id", e.ID), slog.Any("error", err))
			continue
		}
		o.engine.EvaluateRulesets(ev, rulesetIDs, func(m rules.Match) {
			if firstErr != nil {
				return
			}
			d := o.agg.Observe(m, agentID, arrivalMS)
			if d.Kind == rules.Increment {
				var err error
				if d, err = o.unlessDismissed(ctx, p.store, b, orgID, agentID, m, d, arrivalMS); err != nil {
					firstErr = err
					return
				}
			}
			if !b.seen[d.Key] {
				b.seen[d.Key] = true
				b.touched = append(b.touched, d.Key)
			}
			o.apply(ctx, b, orgID, agentID, m, d, e, byID, arrivalMS, p.alertPayload)
		})
		if firstErr != nil {
			return nil, firstErr
		}
	}
	for _, k := range b.touched {
		b.out.Windows = append(b.out.Windows, o.window(k))
	}
	return &b.out, nil
}

// window returns the store form of key's window.
func (o *orgPipeline) window(key string) *aip.AlertWindow {
	st, _ := o.agg.State(key)
	w := &aip.AlertWindow{
		Key: key, WindowStart: time.UnixMilli(st.WindowStart).UTC(), WindowEnd: time.UnixMilli(st.WindowEnd).UTC(),
		Count: st.Count, FirstEventAt: time.UnixMilli(st.FirstEventAt).UTC(), LastEventAt: time.UnixMilli(st.LastEventAt).UTC(),
		Alerting: st.Alerting, Dismissed: st.Dismissed, AlertID: o.alerts[key],
	}
	for _, id := range st.PendingEventIDs {
		if pe, ok := o.pending[id]; ok {
			w.Pending = append(w.Pending, aip.EventRef{ID: id, Time: pe.time})
		}
	}
	return w
}

// unlessDismissed turns an Increment of an alert that was dismissed
// through the API into the NewAlert of a fresh window: a dismissed alert
// stays closed and the next match opens another (DECISIONS.md, "Alerts").
// Dismissals happen in the store, so the alert is read back to learn it,
// once per batch.
func (o *orgPipeline) unlessDismissed(ctx context.Context, store aip.Store, b *batchEval, orgID, agentID string,
	m rules.Match, d rules.Decision, arrivalMS int64) (rules.Decision, error) {
	id, ok := o.alerts[d.Key]
	if !ok || b.created[id] || b.checked[id] {
		return d, nil
	}
	a, err := store.FindAlert(ctx, orgID, id)
	if err != nil {
		return d, fmt.Errorf("read alert %s: %w", id, err)
	}
	if !a.IsDismissed {
		b.checked[id] = true
		return d, nil
	}
	o.agg.Dismiss(d.Key)
	delete(o.alerts, d.Key)
	return o.agg.Observe(m, agentID, arrivalMS), nil
}

// apply records one decision in the batch: a Pending event is remembered,
// a NewAlert is created with the events that formed it and its webhook
// body (from payload), an Increment links the event to the window's alert.
func (o *orgPipeline) apply(ctx context.Context, b *batchEval, orgID, agentID string, m rules.Match, d rules.Decision,
	e *aip.Event, batch map[string]*aip.Event, arrivalMS int64, payload func(context.Context, *aip.Alert) []byte) {
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
			ID: aip.NewUUID(), OrgID: orgID, Title: d.Title, DataSource: aip.DataSourceAgent,
			CreatedAt: aip.Time{Time: time.UnixMilli(d.CreatedAt).UTC()}, Severity: m.Rule.Severity,
			AgentID: agentID, RuleID: m.Rule.ID, RulesetID: m.Rule.RulesetID, Aggregates: aggs,
			EventCount: len(linked), ExpiresAt: aip.Time{Time: time.UnixMilli(d.ExpiresAt).UTC()},
			LastEventAt: aip.Time{Time: time.UnixMilli(d.LastEventAt).UTC()}, Key: d.Key,
		}
		b.out.Alerts = append(b.out.Alerts, aip.NewAlert{Alert: a, Events: linked, WebhookBody: payload(ctx, a)})
		b.created[a.ID] = true
		o.alerts[d.Key] = a.ID
	case rules.Increment:
		id, ok := o.alerts[d.Key]
		if !ok {
			return
		}
		last := time.UnixMilli(d.LastEventAt).UTC()
		i, ok := b.links[id]
		if !ok {
			i = len(b.out.Links)
			b.links[id] = i
			b.out.Links = append(b.out.Links, aip.AlertLink{AlertID: id})
		}
		l := &b.out.Links[i]
		l.Events = append(l.Events, &aip.Event{ID: e.ID, OrgID: orgID, Time: e.Time})
		if last.After(l.LastEventAt) {
			l.LastEventAt = last
		}
	}
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
// ended more than aip.AlertWindowRetention ago, so that memory follows the live windows.
func (o *orgPipeline) expire(nowMS int64) {
	if nowMS-o.lastExpire < time.Minute.Milliseconds() {
		return
	}
	o.lastExpire = nowMS
	cutoff := nowMS - aip.AlertWindowRetention.Milliseconds()
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
