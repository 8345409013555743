package journal

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind: every
// store must be closed, and Close must wait for its writer.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
