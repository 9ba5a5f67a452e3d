package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aipsec/aip"
	"github.com/aipsec/aip/hawk"
	"github.com/aipsec/aip/internal/rules"
	"github.com/aipsec/aip/internal/store/sqlite"
	"github.com/google/go-cmp/cmp"
)

// crashServer is one aipd serve process of the kill -9 test.
type crashServer struct {
	cmd    *exec.Cmd
	port   string
	stderr *syncBuffer
	exited chan struct{}
}

// startCrashServer runs bin serve on a free loopback port over dir and
// waits until it answers /healthz.
func startCrashServer(t *testing.T, bin, dir string) *crashServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	s := &crashServer{port: port, stderr: &syncBuffer{}, exited: make(chan struct{})}
	s.cmd = exec.Command(bin, "serve", "--data", dir, "--addr", "127.0.0.1:"+port,
		"--ip-rate-limit", "1000000", "--log-level", "warn")
	s.cmd.Env = append(os.Environ(), "AIP_DEMO=", "AIP_METRICS_ADDR=")
	s.cmd.Stdout, s.cmd.Stderr = io.Discard, s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start aipd: %v", err)
	}
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	t.Cleanup(s.kill)
	deadline := time.Now().Add(bound)
	for {
		resp, err := http.Get("http://127.0.0.1:" + port + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case <-s.exited:
			t.Fatalf("aipd exited at start; stderr:\n%s", s.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("aipd not healthy; stderr:\n%s", s.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *crashServer) kill() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// crashAgent posts Hawk-signed requests as one enrolled agent.
type crashAgent struct {
	http  *http.Client
	creds hawk.Credentials
}

// postEvents sends body to srv and reports whether it got a 202.
func (a *crashAgent) postEvents(srv *crashServer, body []byte) (bool, error) {
	const path, contentType = "/agent/v1/events", "application/json"
	req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:"+srv.port+path, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	art := &hawk.Artifacts{Method: http.MethodPost, Resource: path, Host: "127.0.0.1", Port: srv.port,
		Hash: hawk.PayloadHash(contentType, body)}
	req.Header.Set("Authorization", a.creds.RequestHeader(art))
	req.Header.Set("Content-Type", contentType)
	resp, err := a.http.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		return false, err
	}
	if resp.StatusCode != http.StatusAccepted {
		return false, fmt.Errorf("events answered %s: %s", resp.Status, got)
	}
	return true, nil
}

// sentEvent is an event's identity: its _id and timestamp (epoch ms).
type sentEvent struct {
	id string
	ms int64
}

// failureBatch is n ssh login failures from one address, each with a new
// _id: together they raise the Base Rule Set's brute-force alert.
func failureBatch(t *testing.T, n int) ([]sentEvent, []byte) {
	t.Helper()
	ids := make([]sentEvent, n)
	evs := make([]map[string]any, n)
	now := time.Now().UnixMilli()
	for i := range evs {
		ids[i] = sentEvent{aip.NewUUID(), now + int64(i)}
		user := fmt.Sprintf("user%d", i%7)
		evs[i] = map[string]any{
			"_id": ids[i].id, "event_type": "host", "timestamp": ids[i].ms,
			"_type": "host", "hostname": "web-1", "sigid": 5710, "level": 5, "pid": 4123,
			"comment": "Attempt to login using a non-existent user",
			"group":   []string{"syslog", "sshd", "invalid_login", "authentication_failed"}, "groups": []string{"syslog"},
			"location": "/var/log/auth.log", "user": user, "src_ip": "198.51.100.7",
			"log": "Jul 22 04:26:40 web-1 sshd[4123]: Invalid user " + user + " from 198.51.100.7 port 52044",
		}
	}
	body, err := json.Marshal(evs)
	if err != nil {
		t.Fatal(err)
	}
	return ids, body
}

// TestKillDuringIngest kills aipd with SIGKILL while an agent sends events,
// restarts it on the same data dir and re-sends the unacknowledged batch,
// as a real agent does. Every acknowledged event must survive, and no
// alert may count an event twice.
func TestKillDuringIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills aipd processes")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool to build aipd with")
	}
	tmp := t.TempDir()
	bin, dir := filepath.Join(tmp, "aipd"), filepath.Join(tmp, "data")
	if out, err := exec.Command(goBin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build aipd: %v\n%s", err, out)
	}

	srv := startCrashServer(t, bin, dir)
	_, env := credentialsClient(t, dir)
	orgID := env["TS_ORGANIZATION_ID"]
	out, err := exec.Command(bin, "admin", "--data", dir, "deploykey", "create", "--org", orgID).CombinedOutput()
	if err != nil {
		t.Fatalf("deploykey create: %v\n%s", err, out)
	}
	deployKey := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), "DEPLOY_KEY="))
	enroll, _ := json.Marshal(map[string]any{"deployKey": deployKey, "hostname": "web-1", "agentType": "monitor"})
	resp, err := http.Post("http://127.0.0.1:"+srv.port+"/agent/v1/enroll", "application/json", bytes.NewReader(enroll))
	if err != nil {
		t.Fatal(err)
	}
	var creds struct{ AgentID, AgentKey string }
	err = json.NewDecoder(resp.Body).Decode(&creds)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || err != nil || creds.AgentID == "" {
		t.Fatalf("enroll: %s, %v", resp.Status, err)
	}
	agent := &crashAgent{
		http:  &http.Client{Timeout: 10 * time.Second},
		creds: hawk.Credentials{ID: creds.AgentID, Key: []byte(creds.AgentKey)},
	}

	const cycles, batchSize = 3, 100
	acked := map[sentEvent]bool{}
	// ackedBodies holds every acknowledged batch in the order it was
	// acknowledged, which is the order its events were committed.
	var ackedBodies [][]byte
	var pendingIDs []sentEvent
	var pendingBody []byte
	resent := 0
	for cycle := range cycles {
		// SIGKILL at a random moment of sustained ingest.
		victim := srv
		killer := time.AfterFunc(time.Duration(300+rand.IntN(700))*time.Millisecond, func() { _ = victim.cmd.Process.Kill() })
		for {
			if pendingBody == nil {
				pendingIDs, pendingBody = failureBatch(t, batchSize)
			}
			ok, err := agent.postEvents(srv, pendingBody)
			if err != nil {
				break // the server died: the batch stays pending
			}
			if ok {
				for _, id := range pendingIDs {
					acked[id] = true
				}
				ackedBodies = append(ackedBodies, pendingBody)
				pendingIDs, pendingBody = nil, nil
			}
		}
		killer.Stop()
		srv.kill()
		agent.http.CloseIdleConnections()
		srv = startCrashServer(t, bin, dir)
		// The agent re-sends what was not acknowledged before the crash.
		if pendingBody != nil {
			ok, err := agent.postEvents(srv, pendingBody)
			if !ok {
				t.Fatalf("cycle %d: re-sent batch not accepted: %v\nstderr:\n%s", cycle, err, srv.stderr)
			}
			for _, id := range pendingIDs {
				acked[id] = true
			}
			ackedBodies = append(ackedBodies, pendingBody)
			pendingIDs, pendingBody = nil, nil
			resent++
		}
	}
	srv.kill()
	if len(acked) == 0 {
		t.Fatal("no batch was acknowledged before the kills")
	}

	store, err := sqlite.Open(t.Context(), filepath.Join(dir, "aip.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	t.Run("keeps every acknowledged event", func(t *testing.T) {
		// Re-inserting reports each event already stored as not fresh.
		var evs []*aip.Event
		for e := range acked {
			evs = append(evs, &aip.Event{ID: e.id, Type: "host", Time: time.UnixMilli(e.ms), Raw: json.RawMessage(`{}`)})
		}
		fresh, err := store.InsertEvents(t.Context(), orgID, evs)
		if err != nil {
			t.Fatal(err)
		}
		lost := 0
		for i, f := range fresh {
			if f {
				lost++
				if lost <= 5 {
					t.Errorf("acknowledged event %s is missing", evs[i].ID)
				}
			}
		}
		if lost > 0 {
			t.Errorf("%d of %d acknowledged events are missing", lost, len(evs))
		}
	})
	alerts, err := store.ListAlerts(t.Context(), aip.AlertFilter{OrgID: orgID, Status: aip.AlertActive, Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) == 0 {
		t.Fatal("no alert formed from the login failures")
	}
	linked := map[string]bool{}
	t.Run("counts no event twice", func(t *testing.T) {
		for _, a := range alerts {
			evs, err := store.ListAlertEvents(t.Context(), orgID, a.ID, nil, 1_000_000)
			if err != nil {
				t.Fatal(err)
			}
			distinct := map[string]bool{}
			for _, e := range evs {
				distinct[e.ID] = true
				linked[e.ID] = true
			}
			if a.EventCount != len(distinct) {
				t.Errorf("alert %s (%s): eventCount %d, %d distinct events linked", a.ID, a.Title, a.EventCount, len(distinct))
			}
		}
	})
	t.Run("alerts are those of an uninterrupted run", func(t *testing.T) {
		want := replayAlerts(t, store, orgID, creds.AgentID, ackedBodies)
		var got []alertSummary
		for _, a := range alerts {
			got = append(got, alertSummary{Key: a.Key, CreatedAt: a.CreatedAt.UnixMilli(), EventCount: a.EventCount})
		}
		sortSummaries(got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("alerts differ from an uninterrupted evaluation of the acknowledged events (-want +got):\n%s", diff)
		}
	})
	t.Logf("%d events acknowledged over %d kills (%d batches re-sent after a restart), %d alerts, %d events linked",
		len(acked), cycles, resent, len(alerts), len(linked))
}

// alertSummary is what must match between the crashed run and a replay.
type alertSummary struct {
	Key        string
	CreatedAt  int64
	EventCount int
}

func sortSummaries(s []alertSummary) {
	slices.SortFunc(s, func(a, b alertSummary) int {
		if c := strings.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return cmpInt(a.CreatedAt, b.CreatedAt)
	})
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// replayAlerts evaluates the acknowledged batches, in order, with the
// organization's stored rules in one uninterrupted pass: the alerts the
// server must have produced despite the kills.
func replayAlerts(t *testing.T, store *sqlite.DB, orgID, agentID string, batches [][]byte) []alertSummary {
	t.Helper()
	list, err := store.ListRules(t.Context(), orgID, "")
	if err != nil {
		t.Fatal(err)
	}
	var rs []rules.Rule
	for _, r := range list {
		rs = append(rs, rules.FromAPI(r).Rule)
	}
	eng, err := rules.NewEngine(rs)
	if err != nil {
		t.Fatal(err)
	}
	agg := rules.NewAggregator()
	byKey := map[string]*alertSummary{}
	var out []*alertSummary
	ev := new(rules.Event)
	for _, body := range batches {
		var raws []json.RawMessage
		if err := json.Unmarshal(body, &raws); err != nil {
			t.Fatal(err)
		}
		for _, raw := range raws {
			if err := ev.Decode(raw); err != nil {
				t.Fatal(err)
			}
			ts, _ := ev.Timestamp()
			eng.Evaluate(ev, func(m rules.Match) {
				d := agg.Observe(m, agentID, ts)
				switch d.Kind {
				case rules.NewAlert:
					a := &alertSummary{Key: d.Key, CreatedAt: d.CreatedAt, EventCount: len(d.EventIDs)}
					byKey[d.Key] = a
					out = append(out, a)
				case rules.Increment:
					byKey[d.Key].EventCount++
				}
			})
		}
	}
	summaries := make([]alertSummary, len(out))
	for i, a := range out {
		summaries[i] = *a
	}
	sortSummaries(summaries)
	return summaries
}
