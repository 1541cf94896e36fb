"""The schedules view (`:schedules`): next fire times, last result, skips; pause/resume/trigger."""
