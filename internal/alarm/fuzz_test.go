package alarm

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzDecode checks that no input panics, that every error is one of the two
// typed errors on one line, that invalid JSON is never accepted and that every
// decoded alarm has its required fields.
func FuzzDecode(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"Type":"Notification","Message":"{\"AlarmName\":\"a\",\"AlarmArn\":\"arn:aws:cloudwatch:r:1:alarm:a\",\"NewStateValue\":\"OK\",\"StateChangeTime\":\"2024-01-01T00:00:00Z\"}"}`))
	f.Add([]byte(`{"detail-type":"CloudWatch Alarm State Change","source":"aws.cloudwatch","region":"r","account":"1","detail":{"alarmName":"a","state":{"value":"OK","timestamp":"2024-01-01T00:00:00+0000","reasonData":"{\"recentDatapoints\":[1e400]}"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		alarms, err := Decode(data)
		if err != nil {
			var de *DecodeError
			var ig *IgnoredError
			if !errors.As(err, &de) && !errors.As(err, &ig) {
				t.Fatalf("error %T %v is neither *DecodeError nor *IgnoredError", err, err)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("error is not one line: %q", err)
			}
			if alarms != nil {
				t.Fatalf("alarms %v returned with error %v", alarms, err)
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("Decode accepted invalid JSON %q", data)
		}
		if len(alarms) == 0 {
			t.Fatal("Decode returned no alarms and no error")
		}
		for _, a := range alarms {
			if a.Name == "" || a.ARN == "" || !a.State.Valid() || a.Timestamp.IsZero() || a.Route == "" {
				t.Fatalf("decoded alarm misses a required field: %+v", a)
			}
			if _, _, ok := parseAlarmARN(a.ARN); !ok {
				t.Fatalf("decoded alarm has a bad ARN %q", a.ARN)
			}
			if a.ReasonData != nil && a.ReasonDataRaw != "" {
				t.Fatalf("both ReasonData and ReasonDataRaw set: %+v", a)
			}
		}
	})
}
