package deploycheck

import (
	"testing"

	"github.com/medicbot/medic/internal/wiring"
)

// TestStuckCardsReachOperators: the functions that relay owed messages
// (the alarm function at the end of each invocation, the executor also on
// its schedule) know the ops topic and may publish to it (and use its
// key), and an alarm with an action watches the metric the relay emits
// while a card is stuck.
func TestStuckCardsReachOperators(t *testing.T) {
	p := loadTemplateNodes(t)
	for _, fn := range []string{"AlarmFunction", "ExecutorFunction"} {
		topic, ok := resourceOf(p.env(fn)["MEDIC_OPS_TOPIC_ARN"])
		if !ok || p.typeOf(topic) != "AWS::SNS::Topic" {
			t.Errorf("%s: MEDIC_OPS_TOPIC_ARN is not a topic of this template", fn)
			continue
		}
		key, _ := resourceOf(get(p.props(topic), "KmsMasterKeyId"))
		var publish, useKey bool
		for _, s := range p.policies(fn) {
			if r, ok := resourceOf(s.resource); ok && r == topic && s.grants("sns:Publish") {
				publish = true
			}
			if r, ok := resourceOf(s.resource); ok && r == key && s.grants("kms:GenerateDataKey") && s.grants("kms:Decrypt") {
				useKey = true
			}
		}
		if !publish {
			t.Errorf("%s may not sns:Publish to %s", fn, topic)
		}
		if key != "" && !useKey {
			t.Errorf("%s may not use %s, the key %s is encrypted with", fn, key, topic)
		}
	}
	watched := false
	for _, name := range sortedKeys(p.resources) {
		props := p.props(name)
		if p.typeOf(name) == "AWS::CloudWatch::Alarm" && scalar(get(props, "Namespace")) == wiring.MetricNamespace &&
			scalar(get(props, "MetricName")) == wiring.MetricWaitingForCard && len(seq(get(props, "AlarmActions"))) > 0 {
			watched = true
		}
	}
	if !watched {
		t.Errorf("no alarm with an action watches %s/%s, the metric of incidents waiting for their card", wiring.MetricNamespace, wiring.MetricWaitingForCard)
	}
}
