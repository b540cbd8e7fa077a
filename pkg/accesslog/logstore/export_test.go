package logstore

// QueuedInGroup is the number of callers waiting in l's group commit (for the tests).
func QueuedInGroup(l *Logger) int {
	l.group.mu.Lock()
	defer l.group.mu.Unlock()
	return len(l.group.queue)
}
