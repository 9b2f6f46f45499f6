package jobs

import (
	"encoding/json"
	"fmt"

	"github.com/hibiken/asynq"
)

// decode reads a task payload. A payload that does not decode can never
// succeed, so the error says not to retry.
func decode(payload []byte, v any) error {
	if err := json.Unmarshal(payload, v); err != nil {
		return fmt.Errorf("payload %.200q: %v: %w", payload, err, asynq.SkipRetry)
	}
	return nil
}
