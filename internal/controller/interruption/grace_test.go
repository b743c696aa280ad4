package interruption

import (
	"strings"
	"testing"
	"time"
)

func TestGracePeriod(t *testing.T) {
	notice := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	cases := map[string]struct {
		now        time.Time
		wantGrace  int64
		wantMissed bool
	}{
		"at the notice: the whole budget minus the reserve": {now: notice, wantGrace: 115},
		"200ms after the notice, rounded down":              {now: notice.Add(200 * time.Millisecond), wantGrace: 114},
		"notice already half spent":                         {now: notice.Add(60 * time.Second), wantGrace: 55},
		"exactly the minimum grace left":                    {now: notice.Add(114 * time.Second), wantGrace: 1},
		"less than the minimum left: missed":                {now: notice.Add(114*time.Second + time.Millisecond), wantGrace: 1, wantMissed: true},
		"only the reserve left: missed":                     {now: notice.Add(115 * time.Second), wantGrace: 1, wantMissed: true},
		"budget exhausted":                                  {now: notice.Add(125 * time.Second), wantGrace: 1, wantMissed: true},
		"long after the node should be gone":                {now: notice.Add(time.Hour), wantGrace: 1, wantMissed: true},
		"notice stamped in the future (clock skew)":         {now: notice.Add(-30 * time.Second), wantGrace: 115},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			grace, missed := DefaultBudget.GracePeriod(notice, tc.now)
			if grace != tc.wantGrace || missed != tc.wantMissed {
				t.Errorf("GracePeriod(notice, notice%+v) = %d, %v; want %d, %v", tc.now.Sub(notice), grace, missed, tc.wantGrace, tc.wantMissed)
			}
			if grace >= 120 {
				t.Errorf("grace %ds does not fit in the 120s notice", grace)
			}
			if !missed && tc.now.Add(time.Duration(grace)*time.Second).After(notice.Add(DefaultBudget.Total-DefaultBudget.Reserve)) {
				t.Errorf("grace %ds issued at notice%+v ends after the reserve starts", grace, tc.now.Sub(notice))
			}
		})
	}
}

func TestBudgetDeadline(t *testing.T) {
	notice := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	deadline := DefaultBudget.Deadline(notice)
	if _, missed := DefaultBudget.GracePeriod(notice, deadline); missed {
		t.Errorf("issuing at the deadline %s counts as missed", deadline)
	}
	if _, missed := DefaultBudget.GracePeriod(notice, deadline.Add(time.Nanosecond)); !missed {
		t.Errorf("issuing just after the deadline %s does not count as missed", deadline)
	}
}

func TestBudgetValidate(t *testing.T) {
	cases := map[string]struct {
		budget  Budget
		wantErr string
	}{
		"default":                 {budget: DefaultBudget},
		"zero total":              {budget: Budget{MinGrace: time.Second}, wantErr: "total 0s must be positive"},
		"negative reserve":        {budget: Budget{Total: time.Minute, Reserve: -time.Second, MinGrace: time.Second}, wantErr: "reserve -1s must not be negative"},
		"sub-second minimum":      {budget: Budget{Total: time.Minute, MinGrace: time.Millisecond}, wantErr: "minimum grace 1ms must be at least 1s"},
		"reserve eats the budget": {budget: Budget{Total: 10 * time.Second, Reserve: 10 * time.Second, MinGrace: time.Second}, wantErr: "lower the reserve"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := tc.budget.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Validate() = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}
