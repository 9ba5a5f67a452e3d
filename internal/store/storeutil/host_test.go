package storeutil

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aipsec/aip"
)

func TestEncodeHost(t *testing.T) {
	tests := []struct {
		name    string
		in      aip.AgentHost
		want    string
		wantErr bool
	}{
		{name: "encodes empty details", want: `{"ipAddresses":{"private":null,"link_local":null,"public":null},"tags":null,"agentModuleHealth":null}`},
		{name: "encodes health compacted", in: aip.AgentHost{AgentModuleHealth: json.RawMessage(` {"a": 1}`)}, want: `{"ipAddresses":{"private":null,"link_local":null,"public":null},"tags":null,"agentModuleHealth":{"a":1}}`},
		{name: "accepts null health", in: aip.AgentHost{AgentModuleHealth: json.RawMessage(" null ")}, want: `{"ipAddresses":{"private":null,"link_local":null,"public":null},"tags":null,"agentModuleHealth":null}`},
		{name: "rejects health that is an array", in: aip.AgentHost{AgentModuleHealth: json.RawMessage(`[1]`)}, wantErr: true},
		{name: "rejects malformed health", in: aip.AgentHost{AgentModuleHealth: json.RawMessage(`{"a":`)}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EncodeHost(&tt.in)
			if tt.wantErr {
				if aip.ErrorCode(err) != aip.EINVALID {
					t.Errorf("err = %v, want EINVALID", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("EncodeHost: %v", err)
			}
			if got != tt.want {
				t.Errorf("EncodeHost = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestDecodeHost(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    aip.AgentHost
		wantErr bool
	}{
		{
			name: "reads nulls as empty lists and no health",
			in:   `{"ipAddresses":{"private":null,"link_local":null,"public":null},"tags":null,"agentModuleHealth":null}`,
			want: aip.AgentHost{IPAddresses: aip.IPAddresses{Private: []string{}, LinkLocal: []string{}, Public: []string{}}, Tags: []aip.Tag{}},
		},
		{
			name: "reads health as stored",
			in:   `{"ipAddresses":{"private":["10.0.0.1"]},"tags":[],"agentModuleHealth":{"a": 1}}`,
			want: aip.AgentHost{IPAddresses: aip.IPAddresses{Private: []string{"10.0.0.1"}, LinkLocal: []string{}, Public: []string{}}, Tags: []aip.Tag{}, AgentModuleHealth: json.RawMessage(`{"a": 1}`)},
		},
		{name: "rejects malformed JSON", in: `{`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got aip.AgentHost
			err := DecodeHost(tt.in, &got)
			if (err != nil) != tt.wantErr {
				t.Fatalf("DecodeHost err = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("host (-want +got):\n%s", diff)
			}
		})
	}
}
