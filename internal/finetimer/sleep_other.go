//go:build !linux

package finetimer

import "time"

func sleep(d time.Duration) { time.Sleep(d) }
