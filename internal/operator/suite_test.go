package operator

import (
	"testing"

	"github.com/sparkplane/sparkplane/internal/testenv"
)

// env is the API server of the tests that run the operator.
var env *testenv.Env

func TestMain(m *testing.M) { testenv.MainSparkplane(m, &env) }
