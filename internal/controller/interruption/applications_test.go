package interruption

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// TestRecordInterruption: counts add to what the status holds, the driver
// report is typed (status.interruptions.driver) beside the condition, and
// writing the same report again changes nothing.
func TestRecordInterruption(t *testing.T) {
	noticeAt := time.Date(2026, 12, 6, 5, 0, 0, 500, time.UTC)
	earlier := metav1.NewTime(noticeAt.Add(-time.Hour))
	st := &v1alpha1.SparkApplicationStatus{Interruptions: &v1alpha1.InterruptionStatus{Notices: 1, ExecutorsDecommissioned: 3, LastNoticeTime: &earlier}}
	driver := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "pi-1-driver"}}
	p := &pendingRecord{decommissioned: 2, notices: 1, lastNotice: noticeAt, minGrace: -1,
		driver: driver, driverNode: "spot-1", driverNotice: Notice{Signal: "spot-itn", Time: noticeAt}}
	if !recordInterruption(st, 4, p) {
		t.Fatal("nothing recorded")
	}
	in := st.Interruptions
	if in.Notices != 2 || in.ExecutorsDecommissioned != 5 || !in.LastNoticeTime.Equal(&metav1.Time{Time: noticeAt.Truncate(time.Second)}) {
		t.Errorf("counts %+v, want 2 notices, 5 decommissioned, last notice %s", in, noticeAt)
	}
	want := v1alpha1.DriverInterruption{Pod: "pi-1-driver", Node: "spot-1", Signal: "spot-itn", NoticeTime: metav1.NewTime(noticeAt.Truncate(time.Second))}
	if in.Driver == nil || *in.Driver != want {
		t.Errorf("status.interruptions.driver = %+v, want %+v", in.Driver, want)
	}
	cond := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionDriverNodeInterrupted)
	if cond == nil || cond.Status != metav1.ConditionTrue || cond.Reason != v1alpha1.ReasonDriverNodeInterrupted || cond.ObservedGeneration != 4 {
		t.Errorf("condition %+v", cond)
	}
	again := &pendingRecord{driver: driver, driverNode: "spot-1", driverNotice: Notice{Signal: "spot-itn", Time: noticeAt}}
	if recordInterruption(st, 4, again) {
		t.Error("the same driver report again changed the status")
	}
}
