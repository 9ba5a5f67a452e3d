package storeutil

import (
	"encoding/json"
	"time"

	"github.com/aipsec/aip"
)

// windowState is the JSON of alert_windows.state: times in epoch ms. The
// key and the end are columns of their own.
type windowState struct {
	AlertID      string      `json:"alertId,omitempty"`
	WindowStart  int64       `json:"start"`
	Count        int         `json:"count"`
	FirstEventAt int64       `json:"first"`
	LastEventAt  int64       `json:"last"`
	Alerting     bool        `json:"alerting,omitempty"`
	Dismissed    bool        `json:"dismissed,omitempty"`
	Pending      []eventJSON `json:"pending,omitempty"`
}

type eventJSON struct {
	ID   string `json:"id"`
	Time int64  `json:"t"`
}

// EncodeWindowState returns the state column of w: all of it but its key
// and end.
func EncodeWindowState(w *aip.AlertWindow) ([]byte, error) {
	st := windowState{
		AlertID: w.AlertID, WindowStart: ToMillis(w.WindowStart), Count: w.Count,
		FirstEventAt: ToMillis(w.FirstEventAt), LastEventAt: ToMillis(w.LastEventAt),
		Alerting: w.Alerting, Dismissed: w.Dismissed,
	}
	if len(w.Pending) > 0 {
		st.Pending = make([]eventJSON, len(w.Pending))
		for i, p := range w.Pending {
			st.Pending[i] = eventJSON{ID: p.ID, Time: ToMillis(p.Time)}
		}
	}
	return json.Marshal(st)
}

// DecodeWindowState is the inverse of EncodeWindowState: the window of
// key ending at end whose state column is state.
func DecodeWindowState(key string, end time.Time, state []byte) (*aip.AlertWindow, error) {
	var st windowState
	if err := json.Unmarshal(state, &st); err != nil {
		return nil, err
	}
	w := &aip.AlertWindow{
		Key: key, AlertID: st.AlertID, WindowStart: FromMillis(st.WindowStart), WindowEnd: end,
		Count: st.Count, FirstEventAt: FromMillis(st.FirstEventAt), LastEventAt: FromMillis(st.LastEventAt),
		Alerting: st.Alerting, Dismissed: st.Dismissed,
	}
	for _, p := range st.Pending {
		w.Pending = append(w.Pending, aip.EventRef{ID: p.ID, Time: FromMillis(p.Time)})
	}
	return w, nil
}
