package remediations_test

import (
	"strings"
	"testing"

	"github.com/medicbot/medic/internal/alarm"
	"github.com/medicbot/medic/remediations"
)

func TestScopeRefusesAlarmsFromElsewhere(t *testing.T) {
	home := remediations.Scope{Account: "123456789012", Region: "us-east-1"}
	tests := []struct {
		name  string
		scope remediations.Scope
		a     alarm.Alarm
		want  string // substring of the refusal; "" means allowed
	}{
		{"an alarm in the home account and region is allowed", home, alarm.Alarm{Name: "x", Account: "123456789012", Region: "us-east-1"}, ""},
		{"another region is refused, naming both regions", home, alarm.Alarm{Name: "x", Account: "123456789012", Region: "us-west-2"}, "is in region us-west-2; medic acts only in account 123456789012 in us-east-1"},
		{"another account is refused, naming both accounts", home, alarm.Alarm{Name: "x", Account: "111111111111", Region: "us-east-1"}, "is in account 111111111111 (us-east-1); medic acts only in account 123456789012"},
		{"an alarm without a region is refused", home, alarm.Alarm{Name: "x", Account: "123456789012"}, "does not say which account and region"},
		{"an alarm without an account is refused when the account is known", home, alarm.Alarm{Name: "x", Region: "us-east-1"}, "does not say which account and region"},
		{"an unknown home account checks only the region", remediations.Scope{Region: "us-east-1"}, alarm.Alarm{Name: "x", Account: "111111111111", Region: "us-east-1"}, ""},
		{"an unknown home account still refuses another region", remediations.Scope{Region: "us-east-1"}, alarm.Alarm{Name: "x", Region: "eu-west-1"}, "medic acts only in us-east-1"},
		{"an empty scope checks nothing", remediations.Scope{}, alarm.Alarm{Name: "x", Region: "eu-west-1"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.scope.Refusal(&tt.a)
			if tt.want == "" {
				if got != "" {
					t.Fatalf("Refusal = %q, want none", got)
				}
				return
			}
			if !strings.Contains(got, tt.want) {
				t.Fatalf("Refusal = %q, want it to contain %q", got, tt.want)
			}
		})
	}
}
